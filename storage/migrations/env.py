"""Alembic environment: runs the migrations over the project's async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.migrate import REVISIONS
from storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    migration = context.get_context()
    with context.begin_transaction():
        before = migration.get_current_revision()
        context.run_migrations()
        # Read back for the caller's one line: created, upgraded from X, or up to date.
        context.config.attributes[REVISIONS] = (before, migration.get_current_revision())


async def _run_online() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        # Also after a failure: aiosqlite's threads must end before asyncio.run closes the
        # loop, or they report "Event loop is closed" on their own.
        await engine.dispose()


asyncio.run(_run_online())
