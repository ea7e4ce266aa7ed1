"""Small runtime facts kept in the database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KeyValue
from storage.types import utcnow


async def get(session: AsyncSession, key: str) -> str | None:
    """The stored value, or None."""
    row = await session.get(KeyValue, key)
    return None if row is None else row.value


async def put(session: AsyncSession, key: str, value: str) -> None:
    """Store or replace a value."""
    row = await session.get(KeyValue, key)
    if row is None:
        session.add(KeyValue(key=key, value=value))
        return
    row.value = value
    row.updated_at = utcnow()
