"""The scheduler's view of the settings."""

from __future__ import annotations

from datetime import time, timedelta

from helpdesk.settings import Settings
from schedules.config import ScheduleConfig


def schedule_config(settings: Settings) -> ScheduleConfig:
    """Quiet hours, offsets, durations and the digest, from the settings."""
    schedule = settings.schedule
    staff_chat = None
    if settings.telegram.staff_chat_id is not None:
        staff_chat = ("telegram", str(settings.telegram.staff_chat_id))
    return ScheduleConfig(
        zone=settings.zone,
        quiet_start=time.fromisoformat(schedule.quiet_start),
        quiet_end=time.fromisoformat(schedule.quiet_end),
        tick_seconds=schedule.tick_seconds,
        training_offsets=tuple(schedule.training_reminders),
        step_hours=dict(settings.workflows.step_hours),
        escalate_after=timedelta(hours=settings.workflows.escalate_after_hours),
        staff_chat=staff_chat,
        sends_email=settings.sends_email,
        digest_recipients=tuple(settings.digest.recipients),
        digest_cron=settings.digest.cron,
        digest_grace=timedelta(hours=settings.digest.grace_hours),
    )
