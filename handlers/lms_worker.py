"""The LMS worker: checks the token at start, then does queued LMS jobs one at a time.

Each job calls the LMS with no transaction open (a slow LMS holds no lock and no message
processing), then writes its answers and report rows in one transaction that also marks the
job done. A crash between the two runs the job again after a restart: a look-up or an
enrolment repeats harmlessly; a course creation then meets its own short name as taken and
offers staff to use that course (see `handlers.lms_courses`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import HelpdeskConfig
from handlers.lms_check import CheckResult, check_site
from handlers.lms_notify import Writer
from handlers.lms_port import Lms, LmsConfig, LmsError
from handlers.lms_texts import plain_error, say
from handlers.worker import Worker
from storage import lms_jobs, tickets
from storage.models import LmsJob, Person, Ticket

logger = logging.getLogger(__name__)

StatusCallback = Callable[[str, bool, str], None]


def no_status(component: str, ok: bool, detail: str) -> None:
    """Default status callback: nobody listening."""


@dataclass(frozen=True)
class JobView:
    """A job as read before the LMS is called (no session attached)."""

    id: int
    action: str
    payload: dict[str, Any]
    ticket_id: int | None
    person_id: int | None
    staff_id: int | None


@dataclass
class JobContext:
    """What a job may use: the LMS, the settings, short reads and one final write."""

    sessions: async_sessionmaker[AsyncSession]
    lms: Lms
    config: HelpdeskConfig
    job: JobView
    finished: bool = False

    @property
    def lms_config(self) -> LmsConfig:
        assert self.config.lms is not None
        return self.config.lms

    def error(self, exc: LmsError) -> str:
        """An LMS error in plain Indonesian for staff."""
        return plain_error(exc, timeout=self.lms_config.timeout)

    async def ticket(self) -> Ticket | None:
        """The job's ticket, read and let go (its values stay readable)."""
        if self.job.ticket_id is None:
            return None
        async with self.sessions() as session:
            return await tickets.get_ticket(session, self.job.ticket_id)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[tuple[Writer, Ticket | None]]:
        """One transaction for the job's results; the job is marked done with them."""
        async with self.sessions.begin() as session:
            job = await session.get(LmsJob, self.job.id)
            assert job is not None
            staff = None if job.staff_id is None else await session.get(Person, job.staff_id)
            ticket = None
            if job.ticket_id is not None:
                ticket = await tickets.get_ticket(session, job.ticket_id)
            yield Writer(session, self.config, staff), ticket
            lms_jobs.finish(job)
        self.finished = True


Job = Callable[[JobContext], Awaitable[None]]


@dataclass
class LmsWorker(Worker):
    """Runs LMS jobs until stopped; `jobs` maps an action to the function doing it."""

    sessions: async_sessionmaker[AsyncSession]
    lms: Lms
    config: HelpdeskConfig
    jobs: dict[str, Job]
    after_commit: Callable[[], None] = lambda: None
    on_status: StatusCallback = no_status
    max_attempts: int = 3
    checked: CheckResult | None = field(default=None, init=False)

    async def check(self) -> CheckResult:
        """The start-up check; problems are logged as a WARNING in plain words."""
        assert self.config.lms is not None
        result = await check_site(self.lms, timeout=self.config.lms.timeout)
        self.checked = result
        if result.ok:
            logger.info("LMS check passed: %s", result.detail)
        else:
            logger.warning("LMS check failed: %s (see `helpdesk lms check`)", result.detail)
        self.on_status("lms", result.ok, result.detail)
        return result

    async def run(self) -> None:
        """Check the LMS, then do jobs until stopped; a failure is logged, never fatal."""
        try:
            await self.check()
            delay = 0.5
            while not self._stopping:
                try:
                    done = await self.process_pending()
                    delay = 0.5
                except Exception:
                    logger.exception("LMS jobs failed; retrying in %.1f s", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                if not done and not self._stopping:
                    await self._pause(1.0)
        finally:
            await self.lms.close()

    async def process_pending(self) -> int:
        """Do the jobs waiting now, oldest first; return how many were taken."""
        async with self.sessions() as session:
            views = [_view(job) for job in await lms_jobs.pending(session)]
        for view in views:
            if self._stopping:
                break
            await self._run(view)
        if views:
            self.after_commit()
        return len(views)

    async def _run(self, view: JobView) -> None:
        context = JobContext(self.sessions, self.lms, self.config, view)
        job = self.jobs.get(view.action)
        try:
            if job is None:
                raise ValueError(f"unknown LMS job action {view.action!r}")
            await job(context)
        except LmsError as exc:
            if not context.finished:
                await self._lms_failed(context, exc)
        except Exception as exc:
            await self._failed(view, exc)
            return
        if not context.finished:
            async with context.write():
                pass

    async def _lms_failed(self, context: JobContext, exc: LmsError) -> None:
        """An LMS call of a staff action failed: staff read why, and may press again."""
        async with context.write() as (writer, ticket):
            if ticket is None:
                return
            error = context.error(exc)
            writer.event(f"lms_{context.job.action}_failed", error, ticket=ticket, person=None)
            await writer.to_staff(
                say("id", "action_failed", number=ticket.id, error=error), ticket=ticket
            )

    async def _failed(self, view: JobView, exc: Exception) -> None:
        async with self.sessions.begin() as session:
            job = await session.get(LmsJob, view.id)
            if job is None:
                return
            job.attempts += 1
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if job.attempts < self.max_attempts:
                logger.warning("LMS job %s failed (attempt %s): %s", view.id, job.attempts, error)
                job.error = error
                return
            logger.error(
                "LMS job %s failed %s times, set aside", view.id, job.attempts, exc_info=exc
            )
            lms_jobs.finish(job, error=error)


def _view(job: LmsJob) -> JobView:
    return JobView(
        id=job.id,
        action=job.action,
        payload=dict(job.payload),
        ticket_id=job.ticket_id,
        person_id=job.person_id,
        staff_id=job.staff_id,
    )
