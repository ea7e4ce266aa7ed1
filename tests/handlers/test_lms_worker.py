"""The LMS worker on a real database against the Moodle test server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import HelpdeskConfig
from handlers.lms_courses import request_activation_check
from handlers.lms_port import LmsConfig
from handlers.lms_service import lms_worker
from handlers.lms_worker import LmsWorker
from lms.client import MoodleClient
from storage import lms_jobs, people, tickets
from storage.models import Interaction, LmsJob, OutboxMessage
from tests.moodle.server import FakeMoodle

pytestmark = pytest.mark.db

STAFF_CHAT = ("telegram", "-100200")


@pytest.fixture
async def moodle() -> AsyncIterator[FakeMoodle]:
    async with FakeMoodle() as server:
        yield server


def config(moodle: FakeMoodle, *, timeout: float = 3.0) -> HelpdeskConfig:
    return HelpdeskConfig(staff_chat=STAFF_CHAT, lms=LmsConfig(url=moodle.url, timeout=timeout))


def worker(
    sessions: async_sessionmaker[AsyncSession], moodle: FakeMoodle, *, timeout: float = 3.0
) -> LmsWorker:
    client = MoodleClient(moodle.url, moodle.token, timeout=timeout)
    return lms_worker(sessions, client, config(moodle, timeout=timeout))


async def activation_ticket(
    sessions: async_sessionmaker[AsyncSession], moodle: FakeMoodle, details: dict[str, object]
) -> int:
    async with sessions.begin() as session:
        identity = await people.identify(session, "telegram", "111", "Dewi")
        ticket = await tickets.open_ticket(
            session,
            requester_id=identity.person.id,
            channel="telegram",
            chat_id="111",
            question="aktivasi akun",
            topic="aktivasi_akun",
        )
        ticket.kind, ticket.details = "activation", details
        request_activation_check(session, ticket, config(moodle))
        request_activation_check(session, ticket, HelpdeskConfig())  # no LMS: nothing queued
        return ticket.id


async def staff_notes(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == STAFF_CHAT[1])
        )
        return [str(row.payload["html"]) for row in rows]


@pytest.mark.parametrize(
    ("suspended", "state"),
    [(False, "ada dan aktif"), (True, "ditangguhkan"), (None, "tidak ditemukan")],
)
async def test_activation_request_gets_the_students_account_state(
    sessions: async_sessionmaker[AsyncSession],
    moodle: FakeMoodle,
    suspended: bool | None,
    state: str,
) -> None:
    if suspended is not None:
        moodle.add_user("2201010001", "dewi@unr.example", "Dewi", suspended=suspended)
    details = {"nim": "2201010001", "name": "Dewi", "email": "", "programme": "TI", "person_id": 1}
    number = await activation_ticket(sessions, moodle, details)

    lms = worker(sessions, moodle)
    assert await lms.process_pending() == 1
    await lms.lms.close()

    [note] = await staff_notes(sessions)
    assert f"tiket <b>#{number}</b>" in note and state in note
    async with sessions() as session:
        assert await lms_jobs.pending(session) == []
        ticket = await tickets.get_ticket(session, number)
        assert ticket is not None and ticket.details is not None
        assert ticket.details["lms_account"] in ("exists", "suspended", "missing")


async def test_a_staff_action_on_a_silent_lms_tells_staff_in_plain_words(
    sessions: async_sessionmaker[AsyncSession], moodle: FakeMoodle
) -> None:
    moodle.delay = 2.0
    number = await activation_ticket(sessions, moodle, {"email": "dewi@unr.example"})
    async with sessions.begin() as session:
        lms_jobs.add(session, "enrol", {}, ticket_id=number)  # not an enrollment: no students

    lms = worker(sessions, moodle, timeout=0.3)
    assert await lms.process_pending() == 2
    await lms.lms.close()

    notes = await staff_notes(sessions)
    assert "tidak dapat diperiksa: LMS tidak menjawab dalam 0.3 detik" in notes[0]
    assert "daftar mahasiswa pada tiket kosong" in notes[1]
    async with sessions() as session:
        outcomes = set(await session.scalars(select(Interaction.outcome)))
    assert {"lms_account_unknown", "lms_enrol_refused"} <= outcomes


async def test_a_job_that_keeps_failing_is_set_aside_and_others_go_on(
    sessions: async_sessionmaker[AsyncSession], moodle: FakeMoodle
) -> None:
    async with sessions.begin() as session:
        lms_jobs.add(session, "teleport", {})
    lms = worker(sessions, moodle)
    for _ in range(3):
        await lms.process_pending()
    await lms.lms.close()
    async with sessions() as session:
        [job] = (await session.scalars(select(LmsJob))).all()
    assert (job.status, job.attempts) == ("failed", 3)
    assert job.error is not None and "teleport" in job.error


async def test_courses_made_before_a_failed_teacher_enrolment_are_kept(
    sessions: async_sessionmaker[AsyncSession], moodle: FakeMoodle
) -> None:
    moodle.add_user("0801018001", "made@unr.example", "Made")
    moodle.allowed.discard("enrol_manual_enrol_users")
    details = {
        "faculty": "Teknik",
        "course_code": "IF201",
        "course_name": "Basis Data",
        "semester": "ganjil",
        "academic_year": "2026/2027",
        "classes": ["A"],
        "email": "made@unr.example",
    }
    async with sessions.begin() as session:
        identity = await people.identify(session, "telegram", "222", "Made")
        ticket = await tickets.open_ticket(
            session,
            requester_id=identity.person.id,
            channel="telegram",
            chat_id="222",
            question="buat mk",
            topic="buat_mk",
        )
        ticket.kind, ticket.details = "course_creation", details
        lms_jobs.add(session, "create", {}, ticket_id=ticket.id)
        number = ticket.id

    client = MoodleClient(moodle.url, moodle.token, timeout=3.0)
    lms_config = LmsConfig(url=moodle.url, categories={"teknik": 1})
    lms = lms_worker(sessions, client, HelpdeskConfig(staff_chat=STAFF_CHAT, lms=lms_config))
    await lms.process_pending()
    await client.close()

    assert moodle.course_named("IF201-A-2026/2027") is not None
    async with sessions() as session:
        saved = await tickets.get_ticket(session, number)
    assert saved is not None and saved.details is not None
    assert set(saved.details["lms_courses"]) == {"A"}
    notes = await staff_notes(sessions)
    assert "belum terdaftar sebagai pengajar" in notes[0]
    assert "enrol_manual_enrol_users belum ditambahkan" in notes[1]
