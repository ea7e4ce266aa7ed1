"""Shared fixtures: a fresh migrated database per test, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.database import create_engine, session_factory
from storage.migrate import upgrade

# CI runs the database and end-to-end tests a second time with this set to a PostgreSQL
# server (see .ci/run); each test then gets a database of its own on that server.
TEST_DATABASE_ENV = "HELPDESK_TEST_DATABASE_URL"
SHARED = Path(__file__).resolve().parents[2] / "shared"

# python-telegram-bot warns that retry_after will become a timedelta; opt in now.
os.environ.setdefault("PTB_TIMEDELTA", "1")


def shared_path(*parts: str) -> Path:
    """A file of the shared folder beside the checkout, or skip when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared folder sits beside the checkout)")
    return path


async def _admin(base_url: str) -> asyncpg.Connection:
    url = make_url(base_url)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )


async def _create_pg_database(base_url: str) -> tuple[str, str]:
    name = f"sunari_test_{uuid.uuid4().hex[:12]}"
    connection = await _admin(base_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(base_url).set(database=name)
    return url.render_as_string(hide_password=False), name


async def _drop_pg_database(base_url: str, name: str) -> None:
    connection = await _admin(base_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
def dialect() -> str:
    """`postgresql` when the run targets PostgreSQL, else `sqlite`."""
    return "postgresql" if os.environ.get(TEST_DATABASE_ENV) else "sqlite"


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A new database with the schema migrated to head."""
    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        url = f"sqlite+aiosqlite:///{tmp_path / 'helpdesk.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    url, name = await _create_pg_database(base)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await _drop_pg_database(base, name)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test database; the engine is disposed before the loop closes."""
    engine = create_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def _cancel_stubborn_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a test left running, again if a task ignored the first cancellation.

    On Python 3.11 `asyncio.wait_for` can drop a cancellation that coincides with the end of
    its wait (fixed in 3.12), and pytest-asyncio's loop teardown cancels only once: such a
    task would hold the run until CI's limit. Its stack is printed, so the leak is seen.
    """
    for round_ in range(5):
        tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not tasks:
            return
        if round_:
            for task in tasks:
                print(f"\ntask still running after a cancellation: {task!r}", file=sys.stderr)
                task.print_stack(file=sys.stderr)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.wait(tasks, timeout=10))


asyncio.runners._cancel_all_tasks = _cancel_stubborn_tasks  # type: ignore[attr-defined]
