"""Engine and session set-up for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

logger = logging.getLogger(__name__)

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


def normalise_url(url: str) -> str:
    """Accept the plain `sqlite:///` and `postgresql://` forms people write by hand."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}.get(
        parsed.drivername, parsed.drivername
    )
    if driver not in SUPPORTED_DRIVERS:
        raise ValueError(f"unsupported database driver {parsed.drivername!r}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


READ_ONLY = "helpdesk_read_only"


def _sqlite_begin(connection: Any) -> None:
    # A transaction that reads and then writes cannot wait for the write lock in WAL mode
    # (SQLite fails it at once with "database is locked"); taking the lock up front lets
    # busy_timeout queue writers instead. Readers never need it: WAL lets them run beside
    # a writer, so they begin plainly and do not queue behind one.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (see above).
    dbapi_connection.isolation_level = None
    # WAL lets the report be read while the bot writes; NORMAL keeps commits cheap and is
    # still crash-safe in WAL mode (a power cut may lose the last commit, never corrupt).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for `url`, tuned for the dialect."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    logger.debug("database engine created for %s", make_url(url).render_as_string())
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads only: on SQLite it does not wait for a writer's lock."""
    async with sessions() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session


def insert_for(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for the session's database, which can skip rows that are already there
    (`on_conflict_do_nothing`; both dialects have it, the generic INSERT does not)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
