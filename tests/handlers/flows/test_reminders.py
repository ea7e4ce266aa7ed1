"""Half-finished flows: one reminder after the configured time, expiry later (own clock)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.config import FlowConfig
from handlers.flows.reminders import FlowReminders, remind_and_expire
from storage.models import Interaction, OutboxMessage
from storage.types import utcnow
from tests.handlers.flows.desk import Desk, make_helpdesk

pytestmark = pytest.mark.db

CONFIG = FlowConfig(remind_after=timedelta(hours=24), expire_after=timedelta(hours=72))


async def queued(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def look(sessions: async_sessionmaker[AsyncSession], at: datetime) -> tuple[int, int]:
    async with sessions.begin() as session:
        return await remind_and_expire(session, CONFIG, now=at)


async def test_one_reminder_then_expiry(sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = Desk(sessions, make_helpdesk())
    await desk.say("/buatmk", user="111")
    await desk.say("1", user="111")
    await desk.say("/enrollment", user="222")
    start = utcnow()
    before = len(await queued(sessions))

    assert await look(sessions, start + timedelta(hours=23)) == (0, 0)
    assert await look(sessions, start + timedelta(hours=25)) == (2, 0)
    assert await look(sessions, start + timedelta(hours=30)) == (0, 0)  # only one reminder

    reminders = (await queued(sessions))[before:]
    assert sorted(m.chat_id for m in reminders) == ["111", "222"]
    assert all("belum selesai" in m.payload["html"] for m in reminders)
    [mine] = [c for c in await desk.conversations() if c.data["chat_id"] == "111"]
    assert mine.data["values"] == {"faculty": "Fakultas Teknik"}  # nothing lost by reminding

    assert await look(sessions, start + timedelta(hours=73)) == (0, 2)
    assert await desk.conversations() == []
    expired = (await queued(sessions))[before + 2 :]
    assert all("kedaluwarsa" in m.payload["html"] for m in expired) and len(expired) == 2
    async with sessions() as session:
        events = (await session.scalars(select(Interaction.outcome))).all()
    assert events.count("flow_reminded") == 2 and events.count("flow_expired") == 2


async def test_an_answer_after_the_reminder_restarts_the_wait(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = Desk(sessions, make_helpdesk())
    await desk.say("/buatmk")
    assert await look(sessions, utcnow() + timedelta(hours=25)) == (1, 0)

    await desk.say("1")  # back to it: a later idle spell gets its own reminder
    answered = utcnow()

    assert await look(sessions, answered + timedelta(hours=71)) == (1, 0)
    assert await look(sessions, answered + timedelta(hours=73)) == (0, 1)


async def test_the_worker_looks_with_its_clock_and_stops(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = Desk(sessions, make_helpdesk())
    await desk.say("/aktivasi")
    now = [utcnow()]
    woken: list[bool] = []
    worker = FlowReminders(
        sessions=sessions,
        config=FlowConfig(check_every=3600),
        clock=lambda: now[0],
        after_commit=lambda: woken.append(True),
    )

    assert await worker.look() == (0, 0)
    now[0] += timedelta(hours=25)
    assert await worker.look() == (1, 0)
    assert woken == [True]
    worker.stop()
    await worker.run()  # returns at once once stopped


async def test_a_stop_during_a_look_ends_the_worker_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    worker = FlowReminders(sessions=sessions, config=FlowConfig(check_every=3600))

    def clock() -> datetime:
        worker.stop()  # arrives while the look is running
        return utcnow()

    worker.clock = clock

    await asyncio.wait_for(worker.run(), timeout=10)

    assert worker.looks == 1
