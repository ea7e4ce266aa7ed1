"""What the scheduler, trainings and workflows need to know, free of any settings library."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ScheduleConfig:
    """Quiet hours, reminder offsets, workflow durations and the weekly digest."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Makassar"))
    quiet_start: time = time(21, 0)
    quiet_end: time = time(6, 0)
    tick_seconds: float = 60.0
    # Minutes before a training starts at which registrants are reminded.
    training_offsets: tuple[int, ...] = (1440, 60)
    # Hours a workflow step may take, keyed "6.C.f" (every step) or "6.C.f.3" (one step);
    # what is not named here takes the default of the workflow file.
    step_hours: Mapping[str, float] = field(default_factory=dict)
    escalate_after: timedelta = timedelta(days=2)
    staff_chat: tuple[str, str] | None = None
    # Whether mail can leave (smtp.host set); without it nothing is queued as email.
    sends_email: bool = False
    digest_recipients: tuple[str, ...] = ()
    digest_cron: str = "0 7 * * mon"
    # How late the digest may still go out (after downtime, a blocked loop); see C33.
    digest_grace: timedelta = timedelta(hours=24)
