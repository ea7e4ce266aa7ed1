"""Sending the weekly digest at most once a week, and writing a preview of it."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.markup import to_plain
from schedules import digest_render, outreach
from schedules.config import ScheduleConfig
from schedules.digest import Period, compute, week_before
from storage import reminders
from storage.database import reading

logger = logging.getLogger(__name__)


async def send(
    sessions: async_sessionmaker[AsyncSession],
    config: ScheduleConfig,
    now: datetime,
    *,
    force: bool = False,
    due: datetime | None = None,
) -> bool:
    """Queue the digest of the week before `due` (default: now) to every recipient; False
    if not sent.

    Without `force` a week already sent is not sent again (the week's key is written in the
    transaction that queues the emails, so even two runs at once commit only one digest).
    """
    if not config.digest_recipients:
        logger.warning("digest not sent: digest.recipients is empty")
        return False
    if not config.sends_email:
        # Queued, it would wait in the outbox for ever and still count as this week's.
        logger.warning("digest not sent: no email transport is configured (smtp.host)")
        return False
    # The week is that of the run's due time: a run late past midnight reports the same week.
    period = week_before(due or now, config.zone)
    async with reading(sessions) as session:
        if not force and await reminders.by_key(session, period.key) is not None:
            logger.info("digest for %s already sent; not again", period.key)
            return False
        figures = await compute(session, period)
        short, full, files = await digest_render.build(session, figures)
    key = period.key if not force else f"{period.key}:manual:{now.isoformat()}"
    async with sessions() as session, session.begin():
        if not await reminders.mark_once(session, key, "digest", now):
            logger.info("digest for %s already sent; not again", period.key)
            return False
        for outbound in digest_render.emails(
            figures, short, full, files, config.digest_recipients
        ):
            outreach.to_address(session, outbound, person=None, topic="digest")
    logger.info(
        "weekly digest %s queued to %d recipients", period.key, len(config.digest_recipients)
    )
    return True


async def preview(
    sessions: async_sessionmaker[AsyncSession],
    config: ScheduleConfig,
    now: datetime,
    folder: Path,
    *,
    period: Period | None = None,
) -> list[Path]:
    """Write the digest's files (HTML, text, chart, XLSX) into `folder`; return their paths."""
    period = period or week_before(now, config.zone)
    async with reading(sessions) as session:
        figures = await compute(session, period)
        short, full, files = await digest_render.build(session, figures)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "digest.html", folder / "digest.txt"]
    # In a folder the chart is a file beside the page, not a Content-ID.
    chart = f'src="cid:{digest_render.CHART_ID}"'
    written[0].write_text(full.replace(chart, 'src="grafik.png"'), encoding="utf-8")
    written[1].write_text(to_plain(short) + "\n", encoding="utf-8")
    for file in files:
        path = folder / file.name
        path.write_bytes(file.data)
        written.append(path)
    return written
