"""Reminders kept in the database: planned once by key, claimed once when sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Reminder


async def plan(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any],
    person_id: int | None = None,
    not_after: datetime | None = None,
) -> Reminder:
    """The reminder under `key`, created if new; a cancelled one planned again comes back."""
    found = await by_key(session, key)
    if found is not None:
        if found.status == "cancelled":
            found.status, found.due_at, found.not_after = "pending", due_at, not_after
            found.payload = payload
        return found
    row = Reminder(
        key=key,
        kind=kind,
        person_id=person_id,
        due_at=due_at,
        not_after=not_after,
        payload=payload,
        status="pending",
    )
    session.add(row)
    await session.flush()
    return row


async def by_key(session: AsyncSession, key: str) -> Reminder | None:
    """The reminder planned under `key`, if any."""
    return (await session.scalars(select(Reminder).where(Reminder.key == key))).first()


async def cancel_prefix(session: AsyncSession, prefix: str) -> int:
    """Cancel the pending reminders whose key starts with `prefix`; return how many."""
    result = await session.execute(
        update(Reminder)
        .where(Reminder.status == "pending", Reminder.key.startswith(prefix, autoescape=True))
        .values(status="cancelled")
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def due(session: AsyncSession, now: datetime, *, limit: int = 100) -> Sequence[Reminder]:
    """Pending reminders whose time has come, oldest first."""
    query = (
        select(Reminder)
        .where(Reminder.status == "pending", Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def claim(session: AsyncSession, reminder: Reminder, status: str, now: datetime) -> bool:
    """Move a pending reminder to `status`; False when another run already did.

    The condition on `status` makes the claim safe even if two schedulers ran at once:
    only one UPDATE matches, and its outbox row commits with it.
    """
    result = await session.execute(
        update(Reminder)
        .where(Reminder.id == reminder.id, Reminder.status == "pending")
        .values(status=status, sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def mark_once(session: AsyncSession, key: str, kind: str, now: datetime) -> bool:
    """Record that a once-only run (a week's digest) happened; False if it already had.

    Call inside the transaction that does the work: the unique key then keeps a second run
    from committing, even a concurrent one.
    """
    if await by_key(session, key) is not None:
        return False
    session.add(Reminder(key=key, kind=kind, due_at=now, payload={}, status="sent", sent_at=now))
    await session.flush()
    return True
