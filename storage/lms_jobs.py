"""The LMS work queue: jobs written by handlers, taken by the LMS worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LmsJob
from storage.types import utcnow


def add(
    session: AsyncSession,
    action: str,
    payload: dict[str, Any],
    *,
    ticket_id: int | None = None,
    person_id: int | None = None,
    staff_id: int | None = None,
) -> LmsJob:
    """Queue a job; it is written with the caller's transaction."""
    job = LmsJob(
        action=action,
        payload=payload,
        ticket_id=ticket_id,
        person_id=person_id,
        staff_id=staff_id,
        status="pending",
        attempts=0,
        created_at=utcnow(),
    )
    session.add(job)
    return job


async def pending(session: AsyncSession, *, limit: int = 20) -> Sequence[LmsJob]:
    """Jobs not yet done, oldest first."""
    query = select(LmsJob).where(LmsJob.status == "pending").order_by(LmsJob.id).limit(limit)
    return (await session.scalars(query)).all()


async def pending_for_ticket(session: AsyncSession, ticket_id: int, action: str) -> bool:
    """Whether the same action on the ticket is already waiting (a button pressed twice)."""
    await session.flush()
    query = select(LmsJob.id).where(
        LmsJob.ticket_id == ticket_id, LmsJob.action == action, LmsJob.status == "pending"
    )
    return (await session.scalars(query.limit(1))).first() is not None


def finish(job: LmsJob, *, error: str | None = None) -> None:
    """Mark a job done (its outcome is in the messages it sent), or failed with `error`."""
    job.status = "failed" if error else "done"
    job.error = error
    job.done_at = utcnow()
