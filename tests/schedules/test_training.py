"""Trainings: registration with a waiting list, moving up, reminders before the session."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from schedules import training
from schedules.config import ScheduleConfig
from schedules.runner import Scheduler
from storage.models import Person, Registration, Training

from .helpers import STAFF_CHAT, FakeClock, Sessions, local, outbox, report, telegram_person

pytestmark = pytest.mark.db

CONFIG = ScheduleConfig(staff_chat=STAFF_CHAT)
NOW = local("2026-12-07 09:00")


async def _training(sessions: Sessions, *, capacity: int = 2) -> int:
    async with sessions() as session, session.begin():
        made = await training.create(
            session,
            CONFIG,
            title="Moodle dasar",
            audience="internal",
            starts_at=local("2026-12-10 09:00"),
            ends_at=local("2026-12-10 12:00"),
            place="Lab Komputer 1",
            capacity=capacity,
            by="staf",
            now=NOW,
        )
        return made.id


async def _register(sessions: Sessions, number: int, person: Person) -> training.Seat:
    async with sessions() as session, session.begin():
        found = await training.open_training(session, number, NOW)
        assert found is not None
        return await training.register(session, CONFIG, found, person, NOW)


async def _cancel(sessions: Sessions, number: int, person: Person) -> bool:
    async with sessions() as session, session.begin():
        found = await training.open_training(session, number, NOW)
        assert found is not None
        return await training.cancel(session, CONFIG, found, person, NOW)


async def _statuses(sessions: Sessions) -> dict[int, str]:
    async with sessions() as session:
        rows = (await session.scalars(select(Registration))).all()
        return {r.person_id: r.status for r in rows}


async def test_waiting_list_and_moving_up(sessions: Sessions) -> None:
    number = await _training(sessions)
    ani, budi, citra, dewi = [
        await telegram_person(sessions, str(n), name)
        for n, name in enumerate(("Ani", "Budi", "Citra", "Dewi"), start=1)
    ]
    assert await _register(sessions, number, ani) == training.Seat("registered")
    assert await _register(sessions, number, budi) == training.Seat("registered")
    assert await _register(sessions, number, citra) == training.Seat("waiting", 1)
    assert await _register(sessions, number, dewi) == training.Seat("waiting", 2)
    assert await _register(sessions, number, ani) == training.Seat("already_registered")

    assert await _cancel(sessions, number, ani) is True
    assert await _cancel(sessions, number, ani) is False
    assert await _statuses(sessions) == {
        ani.id: "cancelled",
        budi.id: "registered",
        citra.id: "registered",
        dewi.id: "waiting",
    }
    # A waiting person who cancels frees no seat: nobody moves.
    assert await _cancel(sessions, number, dewi) is True
    assert (await _statuses(sessions))[dewi.id] == "cancelled"

    # Citra is told at the next tick (outside quiet hours), once.
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(NOW))
    await scheduler.tick()
    await scheduler.tick()
    sent = [m for m in await outbox(sessions) if m.chat_id == "3"]
    assert len(sent) == 1 and "Ada tempat untuk Anda" in sent[0].payload["html"]
    outcomes = [r.outcome for r in await report(sessions, direction="event")]
    assert outcomes.count("training_moved_up") == 1
    assert outcomes.count("training_waiting") == 2


async def test_reminders_a_day_and_an_hour_before(sessions: Sessions) -> None:
    number = await _training(sessions)
    ani = await telegram_person(sessions, "1", "Ani")
    await _register(sessions, number, ani)
    clock = FakeClock(local("2026-12-09 08:59"))
    scheduler = Scheduler(sessions, CONFIG, clock=clock)

    sent = []
    for moment in (
        "2026-12-09 08:59",
        "2026-12-09 09:00",
        "2026-12-09 09:01",
        "2026-12-10 07:59",
        "2026-12-10 08:00",
        "2026-12-10 08:30",
    ):
        clock.moment = local(moment)
        sent.append(await scheduler.tick())
    assert sent == [0, 1, 0, 0, 1, 0]
    texts = [m.payload["html"] for m in await outbox(sessions)]
    assert len(texts) == 2
    assert all("10-12-2026 09:00" in t and "Lab Komputer 1" in t for t in texts)


async def test_after_long_downtime_only_the_latest_reminder(sessions: Sessions) -> None:
    number = await _training(sessions)
    ani = await telegram_person(sessions, "1", "Ani")
    await _register(sessions, number, ani)
    # Down from before the one-day reminder until after the one-hour one fell due.
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-10 08:20")))
    await scheduler.catch_up()
    assert await scheduler.tick() == 1
    # After the start nothing is sent at all.
    later = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-10 09:05")))
    assert await later.tick() == 0


async def test_cancelled_registration_gets_no_reminder(sessions: Sessions) -> None:
    number = await _training(sessions)
    ani = await telegram_person(sessions, "1", "Ani")
    await _register(sessions, number, ani)
    await _cancel(sessions, number, ani)
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-09 09:00")))
    assert await scheduler.tick() == 0


async def test_subscribers_get_the_announcement_once(sessions: Sessions) -> None:
    ani = await telegram_person(sessions, "1", "Ani")
    async with sessions() as session, session.begin():
        assert await training.subscribe(session, await session.merge(ani)) is True
    await _training(sessions)
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(NOW))
    assert await scheduler.tick() == 1
    assert await scheduler.tick() == 0
    assert "Pelatihan baru" in (await outbox(sessions))[0].payload["html"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audience": "semua"}, "internal atau eksternal"),
        ({"capacity": 0}, "kuota"),
        ({"ends_at": local("2026-12-10 08:00")}, "selesai"),
        ({"starts_at": local("2026-12-01 08:00")}, "lewat"),
    ],
)
async def test_bad_training_is_refused_clearly(
    sessions: Sessions, change: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "title": "X",
        "audience": "internal",
        "starts_at": local("2026-12-10 09:00"),
        "ends_at": local("2026-12-10 12:00"),
        "place": "Lab",
        "capacity": 5,
    }
    values.update(change)
    async with sessions() as session, session.begin():
        with pytest.raises(training.TrainingError, match=message):
            await training.create(session, CONFIG, by="staf", now=NOW, **values)  # type: ignore[arg-type]
        assert (await session.scalars(select(Training))).all() == []
