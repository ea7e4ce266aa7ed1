"""Alembic migrations: up, down and up again, and models that match the migrations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.migrate import alembic_config, upgrade
from storage.models import Base

pytestmark = pytest.mark.db


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _differences(connection: Connection) -> Any:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def _inspect(database_url: str, probe: Any) -> Any:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(probe)
    finally:
        await engine.dispose()


async def test_upgrade_creates_every_table_at_head(database_url: str) -> None:
    assert await _inspect(database_url, _tables) == set(Base.metadata.tables)
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(head) == 1  # one line of migrations, no forks left unmerged
    assert await _inspect(database_url, _revision) == head[0]


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    config = alembic_config(database_url)

    await asyncio.to_thread(command.downgrade, config, "base")
    assert await _inspect(database_url, _tables) == set()
    assert await _inspect(database_url, _revision) is None

    await asyncio.to_thread(upgrade, database_url)
    assert await _inspect(database_url, _tables) == set(Base.metadata.tables)
    assert await _inspect(database_url, _differences) == []


async def test_models_match_the_migrations(database_url: str) -> None:
    # A model changed without a new migration shows up here as a difference.
    assert await _inspect(database_url, _differences) == []


async def test_the_comparison_notices_a_model_change(database_url: str) -> None:
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["people"].append_column(Column("nickname", String(40)))

    def differences(connection: Connection) -> Any:
        return compare_metadata(MigrationContext.configure(connection), changed)

    found = await _inspect(database_url, differences)

    assert [(kind, column.name) for kind, _, _, column in found] == [("add_column", "nickname")]
