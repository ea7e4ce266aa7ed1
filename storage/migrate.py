"""Applying the Alembic migrations from code (CLI and tests)."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from storage.database import normalise_url

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# env.py leaves the revisions it found before and after the run here, in config.attributes.
REVISIONS = "helpdesk_revisions"


class MigrationError(Exception):
    """A database the migrations cannot work on at all; the message is one line for people."""


@dataclass(frozen=True)
class SchemaChange:
    """The schema's revision before and after an upgrade (None: no schema yet)."""

    before: str | None
    after: str | None

    def describe(self) -> str:
        """What happened, in one line."""
        if self.before == self.after:
            return f"database already up to date ({self.after})"
        if self.before is None:
            return f"database created at revision {self.after}"
        return f"database upgraded from {self.before} to {self.after}"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is an INI file underneath, where % starts an interpolation.
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> SchemaChange:
    """Bring the schema up to `revision`. Blocking: call before the event loop or in a thread.

    Raises MigrationError when a SQLite file cannot be opened at all.
    """
    check_sqlite_file(database_url)
    config = alembic_config(database_url)
    command.upgrade(config, revision)
    change = SchemaChange(*config.attributes.get(REVISIONS, (None, None)))
    logger.info("%s", change.describe())
    return change


def check_sqlite_file(database_url: str) -> None:
    """Raise MigrationError when the SQLite file of `database_url` cannot be opened."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if url.query.get("uri"):  # a file: URI with options of its own; SQLite is left to judge
        return
    # aiosqlite opens the file on a thread of its own; when that fails, the thread can
    # outlive the event loop and print a traceback after ours. Opening the file here first
    # turns the usual mistakes into one line and never starts that thread. A file that
    # becomes unusable between this check and the migration can still show it.
    path = Path(url.database)
    if not path.parent.is_dir():
        raise MigrationError(
            f"cannot open the SQLite database at {path} (there is no folder {path.parent})"
        )
    try:
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA schema_version")
    except sqlite3.Error as exc:
        raise MigrationError(f"cannot open the SQLite database at {path} ({exc})") from None
