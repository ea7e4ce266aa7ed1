"""The E-learning report's rows as ready-made text cells, formatted by the database.

Formatting a million rows in Python (parse the time, convert it to local time, guard
texts a spreadsheet would run as formulas) cost about as much as writing them; the
database does the same work for nearly nothing. PostgreSQL converts times with its own
time-zone data. SQLite has none, so it is used only when the zone keeps one UTC offset
over the whole range (Asia/Makassar always does); otherwise Python formats the rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, case, cast, func, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.interactions import ReportRow, stream_batches
from storage.models import Interaction, Person

# A spreadsheet cell holds at most 32,767 characters; longer texts are cut, not refused.
CELL_LIMIT = 32_000
# A leading = + - @ would make a spreadsheet run the user's text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@")

Cells = Sequence[str]


def fixed_offset(zone: ZoneInfo, start: datetime, end: datetime) -> timedelta | None:
    """The zone's one UTC offset over [start, end], or None if it changes in between.

    Checked once a day: offset changes (daylight saving) last months, never hours.
    """
    offsets = set()
    moment = start
    while moment <= end:
        offsets.add(moment.astimezone(zone).utcoffset())
        moment += timedelta(days=1)
    offsets.add(end.astimezone(zone).utcoffset())
    if len(offsets) != 1:
        return None
    return offsets.pop()


def _guarded(column: Any) -> Any:
    text = func.substr(column, 1, CELL_LIMIT)
    first = func.substr(column, 1, 1)
    return case((first.in_(FORMULA_STARTS), literal("'") + text), else_=text)


def _local_time(dialect: str, zone: ZoneInfo, offset: timedelta | None) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone(zone.key, Interaction.at), "YYYY-MM-DD HH24:MI:SS")
    assert offset is not None
    # SQLite stores the UTC time as text; strftime shifts and formats it in C.
    raw = type_coerce(Interaction.at, String)
    return func.strftime("%Y-%m-%d %H:%M:%S", raw, f"{int(offset.total_seconds()):+d} seconds")


def _query(dialect: str, zone: ZoneInfo, start: datetime, end: datetime, offset: Any) -> Any:
    requester = aliased(Person)
    empty = literal("")
    return (
        select(
            _local_time(dialect, zone, offset),
            Interaction.channel,
            Interaction.direction,
            func.coalesce(_guarded(requester.display_name), empty),
            func.coalesce(Interaction.role, empty),
            func.coalesce(Interaction.topic, empty),
            _guarded(Interaction.text),
            func.coalesce(literal("#") + cast(Interaction.ticket_id, String), empty),
            _guarded(Interaction.handled_by),
            Interaction.outcome,
        )
        .outerjoin(requester, Interaction.person_id == requester.id)
        .where(Interaction.at >= start, Interaction.at < end)
        .order_by(Interaction.at, Interaction.id)
    )


async def report_cells(
    session: AsyncSession, start: datetime, end: datetime, zone: ZoneInfo, *, batch: int = 5000
) -> AsyncIterator[list[Cells]]:
    """Report rows with `start <= at < end`, oldest first, as text cells, in batches."""
    dialect = session.get_bind().dialect.name
    offset = fixed_offset(zone, start, end) if dialect == "sqlite" else None
    if dialect not in ("sqlite", "postgresql") or (dialect == "sqlite" and offset is None):
        async for rows in stream_batches(session, start, end, batch=batch):
            yield [python_cells(row, zone) for row in rows]
        return
    connection = await session.connection()
    query = _query(dialect, zone, start, end, offset).execution_options(yield_per=batch)
    result = await connection.stream(query)
    async for partition in result.partitions(batch):
        yield partition  # type: ignore[misc]


def python_cells(row: ReportRow, zone: ZoneInfo) -> Cells:
    """One report row as text cells, formatted in Python (the fallback of `report_cells`)."""
    at, channel, direction, name, role, topic, text, ticket, by, outcome = row
    local = at.astimezone(zone).isoformat(" ", "seconds")[:19]
    return (
        local,
        channel,
        direction,
        guard(name),
        role,
        topic,
        guard(text),
        ticket,
        guard(by),
        outcome,
    )


def guard(value: str) -> str:
    """A text cut to the cell limit, with a leading `'` if a spreadsheet would run it."""
    text = value[:CELL_LIMIT]
    return "'" + text if text[:1] in FORMULA_STARTS else text
