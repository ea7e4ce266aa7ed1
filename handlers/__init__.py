"""What the helpdesk says and does, independent of the channel a message came from."""
