"""The LMS worker with its jobs, as start-up builds it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import lms_courses, lms_find
from handlers.config import HelpdeskConfig
from handlers.lms_port import Lms
from handlers.lms_worker import Job, LmsWorker, StatusCallback, no_status


def lms_worker(
    sessions: async_sessionmaker[AsyncSession],
    lms: Lms,
    config: HelpdeskConfig,
    *,
    after_commit: Callable[[], None] = lambda: None,
    on_status: StatusCallback = no_status,
) -> LmsWorker:
    """A worker doing look-ups, course creation, enrolment and account checks."""
    jobs: dict[str, Job] = {
        "lookup": lms_find.run,
        "create": lms_courses.create,
        "use": lms_courses.use,
        "enrol": lms_courses.enrol,
        "activation": lms_courses.activation,
    }
    return LmsWorker(
        sessions=sessions,
        lms=lms,
        config=config,
        jobs=jobs,
        after_commit=after_commit,
        on_status=on_status,
    )
