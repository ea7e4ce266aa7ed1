"""The durable queues: raw input stored before it is acknowledged, output before it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.database import insert_for
from storage.models import InboundUpdate, Interaction, OutboxMessage
from storage.types import utcnow


async def store_inbound(
    session: AsyncSession, channel: str, items: Sequence[tuple[str, dict[str, Any]]]
) -> int:
    """Store raw inputs keyed by their channel id; one seen before is skipped. Returns new ones."""
    if not items:
        return 0
    rows = [
        {
            "channel": channel,
            "external_id": key,
            "payload": payload,
            "received_at": utcnow(),
            "status": "pending",
            "attempts": 0,
        }
        for key, payload in items
    ]
    statement = (
        insert_for(session, InboundUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def pending_inbound(session: AsyncSession, *, limit: int = 100) -> Sequence[InboundUpdate]:
    """Stored inputs not yet handled, in arrival order."""
    query = (
        select(InboundUpdate)
        .where(InboundUpdate.status == "pending")
        .order_by(InboundUpdate.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def count_pending_inbound(session: AsyncSession) -> int:
    """How many stored inputs wait to be handled."""
    query = select(func.count()).where(InboundUpdate.status == "pending")
    return int((await session.scalar(query)) or 0)


def enqueue(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    payload: dict[str, Any],
    *,
    ticket_id: int | None = None,
    interaction: Interaction | None = None,
) -> OutboxMessage:
    """Queue a message; it is sent once the surrounding transaction commits."""
    message = OutboxMessage(
        channel=channel,
        chat_id=chat_id,
        payload=payload,
        ticket_id=ticket_id,
        interaction=interaction,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    return message


async def due_outbox(
    session: AsyncSession,
    channels: Sequence[str],
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> Sequence[OutboxMessage]:
    """Pending messages whose time has come, oldest first, never overtaking an earlier one.

    A message waits while an older one to the same chat is still pending (for example after
    a 429), so a conversation is never delivered out of order.
    """
    now = now or utcnow()
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        earlier.status == "pending",
        earlier.channel == OutboxMessage.channel,
        earlier.chat_id == OutboxMessage.chat_id,
        earlier.id < OutboxMessage.id,
    )
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.channel.in_(channels),
            OutboxMessage.next_attempt_at <= now,
            ~blocked,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def next_outbox_due(session: AsyncSession, channels: Sequence[str]) -> datetime | None:
    """When the next pending message falls due, or None when nothing is pending."""
    query = select(func.min(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.status == "pending", OutboxMessage.channel.in_(channels)
    )
    return await session.scalar(query)


async def count_pending_outbox(session: AsyncSession) -> int:
    """How many messages wait to be sent."""
    query = select(func.count()).where(OutboxMessage.status == "pending")
    return int((await session.scalar(query)) or 0)


async def retarget_chat(session: AsyncSession, channel: str, old: str, new: str) -> None:
    """Point pending messages at a chat's new id (a group upgraded to a supergroup)."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == old,
            OutboxMessage.status == "pending",
        )
        .values(chat_id=new)
    )


def backoff(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Exponential delay before the next try of a temporarily failed send."""
    return timedelta(seconds=min(cap, base ** max(attempts, 1)))
