"""Writing and reading the E-learning report (one row per message or ticket event)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Interaction, Person, Ticket
from storage.types import strip_nul, utcnow


def record(
    session: AsyncSession,
    *,
    channel: str,
    direction: str,
    outcome: str,
    text: str = "",
    person: Person | None = None,
    topic: str | None = None,
    ticket: Ticket | None = None,
    handled_by: str = "bot",
    handler: Person | None = None,
    attachments: dict[str, Any] | None = None,
) -> Interaction:
    """Add one report row; it is written with the transaction (no round trip now)."""
    row = Interaction(
        at=utcnow(),
        channel=channel,
        direction=direction,
        outcome=outcome,
        text=strip_nul(text),
        person=person,
        role=None if person is None else person.role,
        topic=topic,
        ticket=ticket,
        handled_by=handled_by,
        handler=handler,
        attachments=attachments,
        ref=secrets.token_hex(6),
    )
    session.add(row)
    return row


async def by_ref(session: AsyncSession, ref: str) -> Interaction | None:
    """The report row a button refers to."""
    query = select(Interaction).where(Interaction.ref == ref).limit(1)
    return (await session.scalars(query)).first()


async def last_question(session: AsyncSession, person_id: int, since: datetime) -> str | None:
    """The person's latest incoming text since `since`, for a hand-over without a question."""
    await session.flush()  # an earlier message of the same batch counts too
    query = (
        select(Interaction.text)
        .where(
            Interaction.person_id == person_id,
            Interaction.direction == "in",
            Interaction.outcome.in_(("answered", "unsure", "out_of_scope")),
            Interaction.at >= since,
        )
        .order_by(Interaction.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


REPORT_COLUMNS = (
    "time",
    "channel",
    "direction",
    "person",
    "role",
    "topic",
    "text",
    "ticket",
    "handled_by",
    "outcome",
)


ReportRow = tuple[datetime, str, str, str, str, str, str, str, str, str]


async def stream_batches(
    session: AsyncSession, start: datetime, end: datetime, *, batch: int = 5000
) -> AsyncIterator[list[ReportRow]]:
    """Report rows with `start <= at < end`, oldest first, in lists of up to `batch`.

    Plain columns rather than ORM objects, and a batch per await rather than a row: a
    year of the report is a million rows, and per-row overhead is what limits the export.
    """
    requester = aliased(Person)
    query = (
        select(
            Interaction.at,
            Interaction.channel,
            Interaction.direction,
            requester.display_name,
            Interaction.role,
            Interaction.topic,
            Interaction.text,
            Interaction.ticket_id,
            Interaction.handled_by,
            Interaction.outcome,
        )
        .outerjoin(requester, Interaction.person_id == requester.id)
        .where(Interaction.at >= start, Interaction.at < end)
        .order_by(Interaction.at, Interaction.id)
        .execution_options(yield_per=batch)
    )
    # Core execution on the session's connection: the ORM's row loading costs more than
    # the query itself at this size.
    connection = await session.connection()
    result = await connection.stream(query)
    async for partition in result.partitions(batch):
        yield [
            (
                at,
                channel,
                direction,
                name or "",
                role or "",
                topic or "",
                text,
                "" if ticket is None else f"#{ticket}",
                by,
                outcome,
            )
            for at, channel, direction, name, role, topic, text, ticket, by, outcome in partition
        ]
