"""Sending the reminders that have fallen due, each once, never in quiet hours."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import Button
from schedules import outreach
from schedules.clock import in_quiet_hours
from schedules.config import ScheduleConfig
from storage import reminders
from storage.models import Person, Reminder

logger = logging.getLogger(__name__)

BATCH = 100


def payload(
    html: str,
    *,
    subject: str,
    topic: str,
    buttons: tuple[tuple[Button, ...], ...] = (),
    to_staff: bool = False,
) -> dict[str, Any]:
    """What a reminder row keeps of the message it will send."""
    return {
        "html": html,
        "subject": subject,
        "topic": topic,
        "buttons": [[[b.label, b.data] for b in row] for row in buttons],
        "to": "staff" if to_staff else "person",
    }


def quiet(config: ScheduleConfig, now: datetime) -> bool:
    """Whether `now` is in the quiet hours, when no reminder goes out."""
    return in_quiet_hours(now, config.zone, config.quiet_start, config.quiet_end)


async def send_due(
    sessions: async_sessionmaker[AsyncSession], config: ScheduleConfig, now: datetime
) -> int:
    """Send every reminder due by `now`; return how many were queued.

    In quiet hours nothing is sent: the reminders stay pending and go out at the end of the
    quiet hours, unless by then they no longer make sense (`not_after` has passed).
    """
    if quiet(config, now):
        return 0
    sent = 0
    while True:
        async with sessions() as session, session.begin():
            batch = await reminders.due(session, now, limit=BATCH)
            for reminder in batch:
                sent += await _one(session, config, reminder, now)
        if len(batch) < BATCH:
            return sent


async def _one(
    session: AsyncSession, config: ScheduleConfig, reminder: Reminder, now: datetime
) -> int:
    if reminder.not_after is not None and now >= reminder.not_after:
        await reminders.claim(session, reminder, "expired", now)
        logger.info("reminder %s expired unsent (due %s)", reminder.key, reminder.due_at)
        return 0
    if not await reminders.claim(session, reminder, "sent", now):
        return 0
    data = reminder.payload
    buttons = outreach.rows_of(data.get("buttons", []))
    if data.get("to") == "staff":
        ok = await outreach.to_staff(
            session, config.staff_chat, data["html"], buttons=buttons, topic=data.get("topic")
        )
    else:
        person = await session.get(Person, reminder.person_id) if reminder.person_id else None
        ok = person is not None and await outreach.to_person(
            session,
            person,
            data["html"],
            subject=data.get("subject", ""),
            email=config.sends_email,
            buttons=buttons,
            topic=data.get("topic"),
        )
    if not ok:
        reminder.status = "undeliverable"
        return 0
    logger.debug("reminder %s queued", reminder.key)
    return 1
