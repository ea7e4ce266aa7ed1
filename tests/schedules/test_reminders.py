"""Reminders with a clock the test controls: right local times, quiet hours, restarts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from schedules.config import ScheduleConfig
from schedules.reminders import payload
from schedules.runner import DIGEST_JOB, TICK_JOB, Scheduler
from storage import reminders
from storage.models import Reminder
from storage.types import utcnow

from .helpers import STAFF_CHAT, FakeClock, Sessions, block, local, outbox, telegram_person

pytestmark = pytest.mark.db

CONFIG = ScheduleConfig(staff_chat=STAFF_CHAT)


async def _plan(
    sessions: Sessions, person_id: int, due: str, *, key: str = "r1", **kw: object
) -> None:
    async with sessions() as session, session.begin():
        await reminders.plan(
            session,
            key=key,
            kind="test",
            due_at=local(due),
            person_id=person_id,
            payload=payload("Ingat <b>pelatihan</b>", subject="Pengingat", topic="pelatihan"),
            **kw,  # type: ignore[arg-type]
        )


async def _status(sessions: Sessions, key: str) -> str:
    async with sessions() as session:
        found = await reminders.by_key(session, key)
        assert found is not None
        return found.status


async def test_sent_at_its_local_time_and_never_twice(sessions: Sessions) -> None:
    ani = await telegram_person(sessions, "111", "Ani")
    await _plan(sessions, ani.id, "2026-12-07 10:00")
    clock = FakeClock(local("2026-12-07 09:59"))
    scheduler = Scheduler(sessions, CONFIG, clock=clock)

    assert await scheduler.tick() == 0
    assert await outbox(sessions) == []

    clock.moment = local("2026-12-07 10:00")
    assert await scheduler.tick() == 1
    clock.moment = local("2026-12-07 10:01")
    assert await scheduler.tick() == 0

    sent = await outbox(sessions)
    assert [(m.channel, m.chat_id) for m in sent] == [("telegram", "111")]
    assert sent[0].payload["html"] == "Ingat <b>pelatihan</b>"
    assert await _status(sessions, "r1") == "sent"


@pytest.mark.parametrize("when", ["2026-12-07 21:00", "2026-12-07 23:30", "2026-12-08 05:59"])
async def test_nothing_in_quiet_hours(sessions: Sessions, when: str) -> None:
    ani = await telegram_person(sessions, "111", "Ani")
    await _plan(sessions, ani.id, "2026-12-07 21:00")
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local(when)))

    assert await scheduler.tick() == 0
    assert await outbox(sessions) == []
    assert await _status(sessions, "r1") == "pending"


async def test_quiet_hours_defer_to_the_morning(sessions: Sessions) -> None:
    ani = await telegram_person(sessions, "111", "Ani")
    await _plan(sessions, ani.id, "2026-12-07 22:15")
    clock = FakeClock(local("2026-12-07 22:15"))
    scheduler = Scheduler(sessions, CONFIG, clock=clock)
    assert await scheduler.tick() == 0

    clock.moment = local("2026-12-08 06:00")
    assert await scheduler.tick() == 1
    assert len(await outbox(sessions)) == 1


async def test_one_after_a_restart_across_the_due_time(sessions: Sessions) -> None:
    # Case C35 (shared/cases/scenarios): a reminder planned at run time, then a deploy
    # across its due time. Reminders live in the database, not in APScheduler's job store.
    ani = await telegram_person(sessions, "111", "Ani")
    await _plan(sessions, ani.id, "2026-12-07 10:00")
    before = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-07 09:50")))
    assert await before.tick() == 0
    # Down from 09:55 to 11:40; each new process catches up and ticks at start.
    for _ in range(3):
        after = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-07 11:40")))
        await after.catch_up()
        await after.tick()

    assert len(await outbox(sessions)) == 1


async def test_a_reminder_that_no_longer_makes_sense_is_dropped(sessions: Sessions) -> None:
    ani = await telegram_person(sessions, "111", "Ani")
    await _plan(sessions, ani.id, "2026-12-07 08:00", not_after=local("2026-12-07 09:00"))
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-07 09:30")))

    assert await scheduler.tick() == 0
    assert await outbox(sessions) == []
    assert await _status(sessions, "r1") == "expired"


async def test_blocked_on_telegram_goes_by_email(sessions: Sessions) -> None:
    with_email = replace(CONFIG, sends_email=True)
    ani = await telegram_person(sessions, "111", "Ani", email="ani@unr.ac.id")
    budi = await telegram_person(sessions, "222", "Budi")
    await block(sessions, "111", local("2026-12-06 10:00"))
    await block(sessions, "222", local("2026-12-06 10:00"))
    await _plan(sessions, ani.id, "2026-12-07 10:00", key="ani")
    await _plan(sessions, budi.id, "2026-12-07 10:00", key="budi")
    scheduler = Scheduler(sessions, with_email, clock=FakeClock(local("2026-12-07 10:00")))

    assert await scheduler.tick() == 1
    sent = await outbox(sessions)
    assert [(m.channel, m.chat_id, m.payload["subject"]) for m in sent] == [
        ("email", "ani@unr.ac.id", "Pengingat")
    ]
    # Budi has no other channel: marked so, the run went on for Ani.
    assert await _status(sessions, "budi") == "undeliverable"


async def test_without_email_a_person_reachable_only_by_email_is_not_mailed(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    ani = await telegram_person(sessions, "111", "Ani", email="ani@unr.ac.id")
    await block(sessions, "111", local("2026-12-06 10:00"))
    await _plan(sessions, ani.id, "2026-12-07 10:00", key="ani")
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-07 10:00")))

    assert await scheduler.tick() == 0

    assert await outbox(sessions) == []
    assert await _status(sessions, "ani") == "undeliverable"
    assert "reachable only by email and no email transport" in caplog.text


async def test_planning_twice_keeps_one(sessions: Sessions) -> None:
    ani = await telegram_person(sessions, "111", "Ani")
    await _plan(sessions, ani.id, "2026-12-07 10:00")
    await _plan(sessions, ani.id, "2026-12-07 10:00")
    async with sessions() as session:
        assert len((await session.scalars(Reminder.__table__.select())).all()) == 1


async def test_apscheduler_jobs_have_their_own_grace_and_run_at_start(
    sessions: Sessions,
) -> None:
    # Case C33 (shared/cases/scenarios): a grace time given where APScheduler ignores it, so
    # a loop blocked for 5 s at 09:00 lost the week's digest. Each job carries its own.
    ani = await telegram_person(sessions, "111", "Ani")
    async with sessions() as session, session.begin():
        await reminders.plan(
            session,
            key="now",
            kind="test",
            due_at=utcnow() - timedelta(minutes=1),
            person_id=ani.id,
            payload=payload("x", subject="x", topic="x"),
        )
    # Quiet hours off: this test runs on the real clock, at whatever hour CI runs it.
    config = ScheduleConfig(
        staff_chat=STAFF_CHAT,
        quiet_start=local("2026-01-01 00:00").time(),
        quiet_end=local("2026-01-01 00:00").time(),
    )
    scheduler = Scheduler(sessions, config)
    running = scheduler.start()
    try:
        assert running.get_job(TICK_JOB).misfire_grace_time == 60
        assert running.get_job(DIGEST_JOB).misfire_grace_time == 24 * 3600
        for _ in range(100):
            if await outbox(sessions):
                break
            await asyncio.sleep(0.1)
        assert len(await outbox(sessions)) == 1
    finally:
        scheduler.stop()


async def test_stop_before_the_task_runs_still_stops_it(sessions: Sessions) -> None:
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-07 10:00")))
    task = asyncio.create_task(scheduler.run())
    scheduler.stop()  # as the service does on a quick SIGTERM
    await asyncio.wait_for(task, 10)


async def test_stop_waits_for_a_job_run_in_progress(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # APScheduler cancels the runs it started when it shuts down, and the service disposes
    # of the database right after: a run in progress must finish (commit) before either.
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-07 10:00")))
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow_tick() -> int:
        started.set()
        await asyncio.sleep(0.5)
        finished.set()
        return 0

    monkeypatch.setattr(scheduler, "tick", slow_tick)
    task = asyncio.create_task(scheduler.run())
    await asyncio.wait_for(started.wait(), 10)

    scheduler.stop()
    await asyncio.wait_for(task, 10)

    assert finished.is_set()
