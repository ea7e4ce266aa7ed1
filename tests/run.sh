#!/usr/bin/env bash
# The test command of the README: linters, the whole suite on SQLite, then the database
# and end-to-end tests again on PostgreSQL when one is available.
#   HELPDESK_TEST_DATABASE_URL  a PostgreSQL server for the second pass (each test makes
#                               its own database there); default: 127.0.0.1:5432 if it answers
#   VENV                        the virtual environment to use (default: .venv)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
py="$VENV/bin/python"

echo "== ruff, mypy"
"$py" -m ruff check .
"$py" -m ruff format --check .
"$py" -m mypy

echo "== tests on SQLite"
HELPDESK_TEST_DATABASE_URL= "$py" -m pytest -q

pg_url="${HELPDESK_TEST_DATABASE_URL:-}"
if [ -z "$pg_url" ] && "$py" - <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
except OSError:
    sys.exit(1)
PY
then
    pg_url="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
fi
if [ -z "$pg_url" ]; then
    echo "== no PostgreSQL answers on 127.0.0.1:5432 and HELPDESK_TEST_DATABASE_URL is unset:"
    echo "   the PostgreSQL pass is skipped (.ci/run starts a server of its own)"
    exit 0
fi
echo "== database and end-to-end tests on PostgreSQL"
HELPDESK_TEST_DATABASE_URL="$pg_url" "$py" -m pytest -q -m "db or e2e"
