"""Start-up of the LMS: the handlers' view of the `lms` settings and the Moodle worker."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import HelpdeskConfig
from handlers.lms_port import LmsConfig
from handlers.lms_service import lms_worker
from handlers.lms_worker import LmsWorker, StatusCallback, no_status
from helpdesk.settings import Settings
from lms.client import MoodleClient


def lms_config(settings: Settings) -> LmsConfig | None:
    """The LMS as handlers know it, or None when `lms.url` is unset."""
    lms = settings.lms
    if not lms.enabled or lms.url is None:
        return None
    return LmsConfig(
        url=lms.url,
        timeout=lms.timeout,
        student_role_id=lms.student_role_id,
        teacher_role_id=lms.teacher_role_id,
        categories=dict(lms.categories),
    )


def moodle_client(settings: Settings, *, on_status: StatusCallback = no_status) -> MoodleClient:
    """The Moodle web-service client of the settings (which must name an LMS)."""
    lms = settings.lms
    assert lms.url is not None and lms.token is not None
    return MoodleClient(
        lms.url, lms.token.get_secret_value(), timeout=lms.timeout, on_status=on_status
    )


def build_lms_worker(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    config: HelpdeskConfig,
    after_commit: Callable[[], None],
    *,
    on_status: StatusCallback = no_status,
) -> LmsWorker | None:
    """The LMS worker, or None without an LMS; `after_commit` wakes the sender."""
    if config.lms is None:
        return None
    client = moodle_client(settings, on_status=on_status)
    return lms_worker(sessions, client, config, after_commit=after_commit, on_status=on_status)
