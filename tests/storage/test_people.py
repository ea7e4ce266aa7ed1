"""People and identities, conversations and key-value facts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import conversations, kv, people
from storage.models import Identity, Person

pytestmark = pytest.mark.db

Sessions = async_sessionmaker[AsyncSession]


async def test_identify_creates_once_and_updates_the_name(sessions: Sessions) -> None:
    async with sessions() as session:
        first = await people.identify(session, "telegram", "1", "Ani", language="en")
        await session.commit()

    async with sessions() as session:
        again = await people.identify(session, "telegram", "1", "Ani Lestari")
        await session.commit()
        counts = [
            await session.scalar(select(func.count()).select_from(table))
            for table in (Person, Identity)
        ]
        stored = await people.find_identity(session, "telegram", "1")

    assert again.id == first.id
    assert again.person.id == first.person.id
    assert first.person.language == "en"
    assert counts == [1, 1]
    assert stored is not None and stored.display_name == "Ani Lestari"


async def test_identify_falls_back_to_the_external_id_for_a_name(sessions: Sessions) -> None:
    async with sessions() as session:
        identity = await people.identify(session, "email", "a@example.org", "\x00")

    assert identity.display_name == "a@example.org"
    assert identity.person.display_name == "a@example.org"


async def test_unreachable(sessions: Sessions) -> None:
    async with sessions() as session:
        await people.identify(session, "telegram", "1", "Ani")
        assert not await people.is_unreachable(session, "telegram", "1")

        assert await people.set_unreachable(session, "telegram", "1", unreachable=True)
        assert not await people.set_unreachable(session, "telegram", "1", unreachable=True)
        await session.commit()
        assert await people.is_unreachable(session, "telegram", "1")

        assert await people.set_unreachable(session, "telegram", "1", unreachable=False)
        await session.commit()
        assert not await people.is_unreachable(session, "telegram", "1")

        assert not await people.set_unreachable(session, "telegram", "9", unreachable=True)
        assert not await people.is_unreachable(session, "telegram", "9")


async def test_conversations_start_current_finish(sessions: Sessions) -> None:
    async with sessions() as session:
        person = (await people.identify(session, "telegram", "1", "Ani")).person
        assert await conversations.current(session, person.id, "telegram") is None

        await conversations.start(session, person.id, "telegram", "question", {"step": 1})
        await session.commit()
        await conversations.start(session, person.id, "telegram", "feedback", {"step": 2})
        await session.commit()

    async with sessions() as session:
        row = await conversations.current(session, person.id, "telegram")
        assert row is not None
        assert (row.kind, row.data) == ("feedback", {"step": 2})
        assert await conversations.current(session, person.id, "email") is None

        assert await conversations.finish(session, person.id, "telegram")
        await session.commit()
        assert not await conversations.finish(session, person.id, "telegram")
        assert await conversations.current(session, person.id, "telegram") is None


async def test_kv_get_put(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await kv.get(session, "staff_chat") is None
        await kv.put(session, "staff_chat", "-100")
        await session.commit()
        await kv.put(session, "staff_chat", "-100200")
        await session.commit()

    async with sessions() as session:
        assert await kv.get(session, "staff_chat") == "-100200"
