"""The weekly digest's figures, computed in SQL over one week of the E-learning report."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Interaction, Registration, Ticket, Training, WorkflowInstance

MESSAGES = ("in", "out")
OLD_TICKET = timedelta(days=3)


@dataclass(frozen=True)
class Period:
    """A week of local days: `start` inclusive to `end` exclusive, aware."""

    start: datetime
    end: datetime
    zone: ZoneInfo

    @property
    def days(self) -> list[date]:
        """The local dates in the period."""
        first = self.start.astimezone(self.zone).date()
        count = (self.end - self.start).days
        return [first + timedelta(days=n) for n in range(count)]

    @property
    def key(self) -> str:
        """The ISO week of the period's start: at most one digest is sent per key."""
        year, week, _ = self.start.astimezone(self.zone).isocalendar()
        return f"digest:{year}-W{week:02d}"


def week_before(moment: datetime, zone: ZoneInfo) -> Period:
    """The seven local days before the local day of `moment` (a Monday run: last week)."""
    today = moment.astimezone(zone).date()
    end = datetime.combine(today, time.min, zone)
    return Period(end - timedelta(days=7), end, zone)


@dataclass(frozen=True)
class OverdueStep:
    """A workflow step past its due time."""

    instance_id: int
    workflow: str
    title: str
    step: int
    due_at: datetime


@dataclass(frozen=True)
class UpcomingTraining:
    """A training in the week after the digest."""

    id: int
    title: str
    starts_at: datetime
    place: str
    registered: int
    capacity: int


@dataclass
class Figures:
    """Everything the digest reports."""

    period: Period
    by_channel: dict[str, int] = field(default_factory=dict)
    by_topic: dict[str, int] = field(default_factory=dict)
    by_role: dict[str, int] = field(default_factory=dict)
    per_day: dict[date, dict[str, int]] = field(default_factory=dict)
    tickets_opened: int = 0
    tickets_closed: int = 0
    tickets_open: int = 0
    tickets_old: int = 0
    median_first_response: timedelta | None = None
    median_close: timedelta | None = None
    overdue: list[OverdueStep] = field(default_factory=list)
    trainings: list[UpcomingTraining] = field(default_factory=list)

    @property
    def messages(self) -> int:
        """Messages in and out in the week."""
        return sum(self.by_channel.values())


async def compute(session: AsyncSession, period: Period) -> Figures:
    """The digest's figures for `period`."""
    figures = Figures(period)
    in_week = (Interaction.at >= period.start, Interaction.at < period.end)
    messages = (*in_week, Interaction.direction.in_(MESSAGES))
    figures.by_channel = await _counts(session, Interaction.channel, messages)
    incoming = (*in_week, Interaction.direction == "in")
    figures.by_topic = await _counts(session, Interaction.topic, incoming, empty="(tanpa topik)")
    figures.by_role = await _counts(session, Interaction.role, incoming, empty="unknown")
    for day in period.days:
        since = datetime.combine(day, time.min, period.zone)
        until = since + timedelta(days=1)
        window = (Interaction.at >= since, Interaction.at < until)
        figures.per_day[day] = await _counts(
            session, Interaction.channel, (*window, Interaction.direction.in_(MESSAGES))
        )
    await _tickets(session, period, figures)
    figures.overdue = await _overdue(session, period.end)
    figures.trainings = await _trainings(session, period.end, period.end + timedelta(days=7))
    return figures


async def _counts(
    session: AsyncSession, column: Any, where: Sequence[Any], *, empty: str = "-"
) -> dict[str, int]:
    query = select(column, func.count()).where(*where).group_by(column)
    rows = (await session.execute(query)).all()
    counts: dict[str, int] = {}
    for key, count in rows:
        name = key or empty
        counts[name] = counts.get(name, 0) + int(count)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


async def _tickets(session: AsyncSession, period: Period, figures: Figures) -> None:
    start, end = period.start, period.end
    count = func.count(Ticket.id)
    opened = select(count).where(Ticket.created_at >= start, Ticket.created_at < end)
    figures.tickets_opened = int(await session.scalar(opened) or 0)
    closed = select(count).where(Ticket.closed_at >= start, Ticket.closed_at < end)
    figures.tickets_closed = int(await session.scalar(closed) or 0)
    # Open at the end of the week: created before it and not closed by then.
    still_open = (
        Ticket.created_at < end,
        (Ticket.closed_at.is_(None)) | (Ticket.closed_at >= end),
    )
    figures.tickets_open = int(await session.scalar(select(count).where(*still_open)) or 0)
    old = select(count).where(*still_open, Ticket.created_at < end - OLD_TICKET)
    figures.tickets_old = int(await session.scalar(old) or 0)

    responded = select(Ticket.created_at, Ticket.first_response_at).where(
        Ticket.first_response_at >= start, Ticket.first_response_at < end
    )
    figures.median_first_response = _median(
        [b - a for a, b in (await session.execute(responded)).all() if b is not None]
    )
    done = select(Ticket.created_at, Ticket.closed_at).where(
        Ticket.closed_at >= start, Ticket.closed_at < end
    )
    figures.median_close = _median(
        [b - a for a, b in (await session.execute(done)).all() if b is not None]
    )


def _median(spans: list[timedelta]) -> timedelta | None:
    if not spans:
        return None
    return timedelta(seconds=statistics.median(s.total_seconds() for s in spans))


async def _overdue(session: AsyncSession, at: datetime) -> list[OverdueStep]:
    query = (
        select(WorkflowInstance)
        .where(WorkflowInstance.status == "active", WorkflowInstance.step_due_at < at)
        .order_by(WorkflowInstance.step_due_at)
    )
    return [
        OverdueStep(w.id, w.workflow, w.title, w.step, w.step_due_at)
        for w in (await session.scalars(query)).all()
    ]


async def _trainings(
    session: AsyncSession, start: datetime, end: datetime
) -> list[UpcomingTraining]:
    registered = (
        select(func.count(Registration.id))
        .where(Registration.training_id == Training.id, Registration.status == "registered")
        .correlate(Training)
        .scalar_subquery()
    )
    query = (
        select(Training, registered)
        .where(
            Training.status == "scheduled", Training.starts_at >= start, Training.starts_at < end
        )
        .order_by(Training.starts_at)
    )
    return [
        UpcomingTraining(t.id, t.title, t.starts_at, t.place, int(n or 0), t.capacity)
        for t, n in (await session.execute(query)).all()
    ]
