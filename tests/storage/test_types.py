"""UTCDateTime: aware values in, the same instant in UTC out; naive values refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import KeyValue
from storage.types import strip_nul, utcnow

pytestmark = pytest.mark.db

WITA = timezone(timedelta(hours=8))


async def test_aware_value_comes_back_as_the_same_instant_in_utc(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    moment = datetime(2026, 3, 10, 7, 30, 15, 123456, tzinfo=WITA)
    async with sessions() as session:
        session.add(KeyValue(key="k", value="v", updated_at=moment))
        await session.commit()

    async with sessions() as session:
        row = await session.get(KeyValue, "k")

    assert row is not None
    assert row.updated_at == moment
    assert row.updated_at.utcoffset() == timedelta(0)
    assert row.updated_at.replace(tzinfo=None) == datetime(2026, 3, 9, 23, 30, 15, 123456)


async def test_naive_value_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(KeyValue(key="k", value="v", updated_at=datetime(2026, 3, 10, 7, 30)))
        with pytest.raises(StatementError, match="naive datetime"):
            await session.commit()


def test_utcnow_is_aware_utc() -> None:
    assert utcnow().tzinfo is UTC


def test_strip_nul_removes_only_nul() -> None:
    assert strip_nul("a\x00b 0x00") == "ab 0x00"
