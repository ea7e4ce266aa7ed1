"""Time for the scheduler: an injectable clock and the quiet hours in local time."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from storage.types import utcnow


class Clock(Protocol):
    """Where the scheduler reads the time; tests pass one they move by hand."""

    def now(self) -> datetime:
        """The current time, aware."""


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return utcnow()


def in_quiet_hours(moment: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    """Whether `moment` falls in the local quiet hours [start, end), which may span midnight."""
    local = moment.astimezone(zone).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_ends(moment: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """`moment` itself outside quiet hours, else the morning when they end (aware)."""
    if not in_quiet_hours(moment, zone, start, end):
        return moment
    local = moment.astimezone(zone)
    morning = datetime.combine(local.date(), end, zone)
    if morning <= local:
        morning += timedelta(days=1)
    return morning
