"""The durable inbound and outbound queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import queues
from storage.models import InboundUpdate, OutboxMessage
from storage.types import utcnow

pytestmark = pytest.mark.db

Sessions = async_sessionmaker[AsyncSession]


async def test_store_inbound_is_idempotent(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await queues.store_inbound(session, "telegram", [("1", {"n": 1})]) == 1
        await session.commit()

    async with sessions() as session:
        new = await queues.store_inbound(session, "telegram", [("1", {"n": 1}), ("2", {"n": 2})])
        await session.commit()
        count = await session.scalar(select(func.count()).select_from(InboundUpdate))

    assert new == 1
    assert count == 2


async def test_same_external_id_on_another_channel_is_new(sessions: Sessions) -> None:
    async with sessions() as session:
        await queues.store_inbound(session, "telegram", [("1", {})])
        assert await queues.store_inbound(session, "email", [("1", {})]) == 1
        assert await queues.store_inbound(session, "email", []) == 0


async def test_pending_inbound_in_arrival_order(sessions: Sessions) -> None:
    async with sessions() as session:
        await queues.store_inbound(session, "telegram", [("30", {"n": 30}), ("10", {"n": 10})])
        await queues.store_inbound(session, "email", [("<a@b>", {"n": 0})])
        await session.commit()

    async with sessions() as session:
        pending = await queues.pending_inbound(session)
        pending[0].status = "done"
        await session.commit()
        left = await queues.pending_inbound(session, limit=1)
        waiting = await queues.count_pending_inbound(session)

    assert [row.external_id for row in pending] == ["30", "10", "<a@b>"]
    assert [row.payload for row in pending] == [{"n": 30}, {"n": 10}, {"n": 0}]
    assert [row.external_id for row in left] == ["10"]
    assert waiting == 2


async def test_due_outbox_oldest_first(sessions: Sessions) -> None:
    async with sessions() as session:
        for chat in ("1", "2", "3"):
            queues.enqueue(session, "telegram", chat, {"text": chat})
        queues.enqueue(session, "email", "x@example.org", {"text": "mail"})
        await session.commit()

        due = await queues.due_outbox(session, ["telegram"], now=utcnow() + timedelta(seconds=1))

    assert [message.chat_id for message in due] == ["1", "2", "3"]


async def test_message_not_yet_due_waits(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as session:
        later = queues.enqueue(session, "telegram", "1", {"text": "later"})
        later.next_attempt_at = now + timedelta(minutes=5)
        await session.commit()

        assert await queues.due_outbox(session, ["telegram"], now=now) == []
        due = await queues.due_outbox(session, ["telegram"], now=now + timedelta(minutes=5))

    assert [message.id for message in due] == [later.id]


async def test_later_message_to_same_chat_waits_for_an_earlier_one(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as session:
        first = queues.enqueue(session, "telegram", "1", {"text": "first"})
        first.next_attempt_at = now + timedelta(seconds=30)  # e.g. after a 429
        second = queues.enqueue(session, "telegram", "1", {"text": "second"})
        second.next_attempt_at = now - timedelta(seconds=1)
        other = queues.enqueue(session, "telegram", "2", {"text": "other chat"})
        other.next_attempt_at = now - timedelta(seconds=1)
        await session.commit()

        due_now = await queues.due_outbox(session, ["telegram"], now=now)
        due_later = await queues.due_outbox(session, ["telegram"], now=now + timedelta(minutes=1))
        first.status = "sent"
        await session.commit()
        due_after_first = await queues.due_outbox(session, ["telegram"], now=now)

    assert [message.id for message in due_now] == [other.id]
    assert [message.id for message in due_later] == [first.id, other.id]
    assert [message.id for message in due_after_first] == [second.id, other.id]


async def test_next_outbox_due(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as session:
        assert await queues.next_outbox_due(session, ["telegram"]) is None

        soon = queues.enqueue(session, "telegram", "1", {})
        soon.next_attempt_at = now + timedelta(seconds=10)
        late = queues.enqueue(session, "telegram", "2", {})
        late.next_attempt_at = now + timedelta(seconds=60)
        mail = queues.enqueue(session, "email", "a@example.org", {})
        mail.next_attempt_at = now - timedelta(seconds=60)
        await session.commit()

        first = await queues.next_outbox_due(session, ["telegram"])
        soon.status = "sent"
        await session.commit()
        second = await queues.next_outbox_due(session, ["telegram"])
        pending = await queues.count_pending_outbox(session)

    assert first == now + timedelta(seconds=10)
    assert first is not None and first.tzinfo is not None
    assert second == now + timedelta(seconds=60)
    assert pending == 2


async def test_retarget_chat_moves_only_pending_messages(sessions: Sessions) -> None:
    async with sessions() as session:
        pending = queues.enqueue(session, "telegram", "-100", {})
        sent = queues.enqueue(session, "telegram", "-100", {})
        sent.status = "sent"
        other = queues.enqueue(session, "email", "-100", {})
        await session.commit()

        await queues.retarget_chat(session, "telegram", "-100", "-100200")
        await session.commit()
        rows = await session.execute(select(OutboxMessage.id, OutboxMessage.chat_id))
        chats = {number: chat for number, chat in rows}

    assert chats == {pending.id: "-100200", sent.id: "-100", other.id: "-100"}


def test_backoff_grows_and_caps() -> None:
    seconds = [queues.backoff(attempts).total_seconds() for attempts in range(12)]

    assert seconds == [2, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    assert queues.backoff(50) == timedelta(seconds=600)
    assert queues.backoff(3, base=3.0, cap=10.0) == timedelta(seconds=10)
