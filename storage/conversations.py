"""What the helpdesk waits for from a person, kept across restarts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation
from storage.types import utcnow


async def current(session: AsyncSession, person_id: int, channel: str) -> Conversation | None:
    """The person's open conversation on a channel, or None."""
    query = select(Conversation).where(
        Conversation.person_id == person_id, Conversation.channel == channel
    )
    return (await session.scalars(query)).one_or_none()


async def start(
    session: AsyncSession, person_id: int, channel: str, kind: str, data: dict[str, Any]
) -> None:
    """Begin (or replace) what we wait for from this person."""
    row = await current(session, person_id, channel)
    if row is None:
        session.add(Conversation(person_id=person_id, channel=channel, kind=kind, data=data))
    else:
        row.kind, row.data, row.updated_at = kind, data, utcnow()
    await session.flush()  # the next message may be in the same batch


async def finish(session: AsyncSession, person_id: int, channel: str) -> bool:
    """Forget the open conversation; True when there was one."""
    row = await current(session, person_id, channel)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True
