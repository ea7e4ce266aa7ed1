"""The scheduler: APScheduler jobs over state kept in the database.

The jobs themselves are fixed (a tick every minute, the weekly digest), so they live in
APScheduler's memory store and are added afresh at each start; what must survive a
restart (reminders planned, what was sent, which week's digest went out) is in our own
tables, marked in the same transaction as the outbox rows. A restart therefore neither
loses a reminder nor replays one, whatever APScheduler would do with missed runs (C35).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schedules import reminders, weekly, workflows
from schedules.clock import Clock, SystemClock
from schedules.config import ScheduleConfig
from schedules.digest import week_before
from storage import reminders as stored
from storage.database import reading

logger = logging.getLogger(__name__)

TICK_JOB = "reminders-tick"
DIGEST_JOB = "weekly-digest"


def digest_trigger(config: ScheduleConfig) -> CronTrigger:
    """The digest's cron expression (minute hour day month weekday) in local time."""
    return CronTrigger.from_crontab(config.digest_cron, timezone=config.zone)


def last_fire(trigger: CronTrigger, now: datetime, *, within: timedelta) -> datetime | None:
    """The latest time the trigger fired in (now - within, now], if any."""
    moment = trigger.get_next_fire_time(None, now - within)
    latest = None
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest


# How long a stop waits for a job run in progress (a digest being built) to commit.
JOB_STOP_GRACE = 10.0


class Scheduler:
    """Runs the due reminders and workflow checks every tick, and the weekly digest."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: ScheduleConfig,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock or SystemClock()
        self._scheduler: AsyncIOScheduler | None = None
        self._stop = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()  # job runs APScheduler started
        self._serving = False  # `run` is under way and shuts the scheduler down itself

    async def tick(self) -> int:
        """Send what has fallen due now; return how many messages were queued."""
        now = self.clock.now()
        sent = await reminders.send_due(self.sessions, self.config, now)
        sent += await workflows.check_overdue(self.sessions, self.config, now)
        return sent

    async def digest(self) -> bool:
        """The weekly digest, unless this week's already went out."""
        now = self.clock.now()
        due = last_fire(digest_trigger(self.config), now, within=self.config.digest_grace)
        return await weekly.send(self.sessions, self.config, now, due=due)

    async def catch_up(self) -> None:
        """At start: a digest missed while the service was down goes out once, if within
        its grace time; reminders that fell due meanwhile go out with the first tick."""
        now = self.clock.now()
        missed = last_fire(digest_trigger(self.config), now, within=self.config.digest_grace)
        if missed is None:
            return
        async with reading(self.sessions) as session:
            period = week_before(missed, self.config.zone)
            sent = await stored.by_key(session, period.key) is not None
        if not sent:
            logger.info("weekly digest due at %s was missed; sending it now", missed)
            await self.digest()

    def start(self) -> AsyncIOScheduler:
        """Add the jobs (grace times set per job: the scheduler-wide one is ignored, C33)."""
        scheduler = AsyncIOScheduler(timezone=self.config.zone)
        tick = self.config.tick_seconds
        scheduler.add_job(
            self._tracked(_guarded("reminder tick", self.tick)),
            IntervalTrigger(seconds=tick, timezone=self.config.zone),
            id=TICK_JOB,
            misfire_grace_time=max(1, int(tick)),
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(self.config.zone),
        )
        scheduler.add_job(
            self._tracked(_guarded("weekly digest", self.digest)),
            digest_trigger(self.config),
            id=DIGEST_JOB,
            misfire_grace_time=int(self.config.digest_grace.total_seconds()),
            coalesce=True,
            max_instances=1,
        )
        for job in scheduler.get_jobs():
            if not job.misfire_grace_time:
                raise ValueError(f"job {job.id} has no misfire grace time")
        scheduler.start()
        self._scheduler = scheduler
        logger.info("scheduler started (digest: %s)", self.config.digest_cron)
        return scheduler

    async def run(self) -> None:
        """Catch up, start the jobs and run until `stop` (one supervised task)."""
        # Not cleared here: a stop() that came before this task first ran still counts.
        self._serving = True
        try:
            await self.catch_up()
            self.start()
            await self._stop.wait()
        finally:
            await self._finish_in_flight()
            self._shutdown()
            self._serving = False

    def stop(self) -> None:
        """Start no new job runs; `run` lets one in progress commit, then shuts down."""
        self._stop.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        if not self._serving:
            self._shutdown()

    def _tracked(self, run: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        # APScheduler starts each run as a task of its own and cancels it on shutdown; a
        # digest cut off mid-transaction would be built again, so runs are waited for.
        async def tracked() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._in_flight.add(task)
            try:
                await run()
            finally:
                self._in_flight.discard(task)

        return tracked

    async def _finish_in_flight(self) -> None:
        if not self._in_flight:
            return
        _, late = await asyncio.wait(set(self._in_flight), timeout=JOB_STOP_GRACE)
        for task in late:
            logger.warning("a scheduled job did not finish within %s s; cancelled", JOB_STOP_GRACE)
            task.cancel()
        if late:
            await asyncio.wait(late)

    def _shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None


def _guarded(name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job()
        except Exception:
            # The next tick tries again; state in the database tells what was done.
            logger.exception("%s failed", name)

    return run
