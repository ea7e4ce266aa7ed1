"""`python -m helpdesk`: the same as the `helpdesk` command."""

from helpdesk.cli import main

main()
