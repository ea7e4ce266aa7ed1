"""A full grade-certificate workflow (6.C.f) in the chat, with a stalled step escalated."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.knowledge import KnowledgeBase
from schedules.clock import quiet_ends
from schedules.runner import Scheduler
from storage.models import Interaction, OutboxMessage, WorkflowInstance
from tests.schedules.helpers import FakeClock

from .chat import STAFF_CHAT, Sessions, buttons, command, handle, make_helpdesk, press, staff

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


async def _instance(sessions: Sessions) -> WorkflowInstance:
    async with sessions() as session:
        return (await session.scalars(select(WorkflowInstance))).one()


async def test_certificate_workflow_end_to_end(
    sessions: Sessions, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    helpdesk = make_helpdesk(kb)
    config = helpdesk.schedule
    for who in ("111", "222", "333"):  # dosen, WR I and a bystander have used the bot
        await handle(sessions, helpdesk, command("start", user_id=who))

    started = await handle(
        sessions,
        helpdesk,
        staff(
            "alur",
            "mulai 6.C.f | Sertifikat MK Statistika, Univ X | "
            "dosen=tg:111; wr1=tg:222; mitra=Akademik@UnivX.ac.id",
        ),
    )
    # Step 1 belongs to Divisi Layanan (no holder named): the staff group gets it.
    step1 = [m for m in started if "Langkah 1/7" in m.payload["html"]]
    assert [m.chat_id for m in step1] == [STAFF_CHAT]
    assert buttons(step1[0]) == ["w:d:1:1"]

    step2 = await handle(sessions, helpdesk, press("w:d:1:1", user_id="900", group=True))
    to_dosen = [m for m in step2 if m.chat_id == "111"]
    assert len(to_dosen) == 1 and buttons(to_dosen[0]) == ["w:d:1:2"]
    assert "Dosen memberikan laporan" in to_dosen[0].payload["html"]

    with caplog.at_level(logging.WARNING):
        refused = await handle(sessions, helpdesk, press("w:d:1:2", user_id="333"))
    assert refused == [] and "user 333" in caplog.text
    assert (await _instance(sessions)).step == 2

    await handle(sessions, helpdesk, press("w:d:1:2", user_id="111"))
    stale = await handle(sessions, helpdesk, press("w:d:1:2", user_id="111"))
    assert "sudah selesai" in stale[0].payload["html"]
    await handle(sessions, helpdesk, staff("alur", "selesai 1"))  # step 3 by staff
    step5 = await handle(sessions, helpdesk, press("w:d:1:4", user_id="900", group=True))
    assert [m.chat_id for m in step5 if "Langkah 5/7" in m.payload["html"]] == ["222"]

    # WR I does not sign: reminded once past due, escalated once past the threshold.
    due = (await _instance(sessions)).step_due_at
    clock = FakeClock(
        quiet_ends(due + timedelta(minutes=1), config.zone, config.quiet_start, config.quiet_end)
    )
    scheduler = Scheduler(sessions, config, clock=clock)
    assert await scheduler.tick() == 1
    assert await scheduler.tick() == 0
    clock.moment = quiet_ends(
        due + config.escalate_after, config.zone, config.quiet_start, config.quiet_end
    )
    assert await scheduler.tick() == 1
    assert await scheduler.tick() == 0
    async with sessions() as session:
        queued = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    reminder, escalation = queued[-2:]
    assert reminder.chat_id == "222" and "Pengingat" in reminder.payload["html"]
    assert escalation.chat_id == STAFF_CHAT and "terlambat sejak" in escalation.payload["html"]
    listing = await handle(sessions, helpdesk, staff("alur"))
    assert "langkah 5/7 (Wakil Rektor I UNR: Orang 222)" in listing[0].payload["html"]

    await handle(sessions, helpdesk, press("w:d:1:5", user_id="222"))
    step7 = await handle(sessions, helpdesk, press("w:d:1:6", user_id="900", group=True))
    # The partner has only an email address: the step goes by email, without buttons.
    mail = [m for m in step7 if m.channel == "email"]
    assert [m.chat_id for m in mail] == ["akademik@univx.ac.id"]
    assert mail[0].payload["buttons"] == [] and "balas email ini" in mail[0].payload["html"]
    finished = await handle(sessions, helpdesk, staff("alur", "selesai 1"))
    assert any("selesai" in m.payload["html"] for m in finished if m.chat_id == STAFF_CHAT)
    assert (await _instance(sessions)).status == "done"

    async with sessions() as session:
        events = (
            await session.scalars(
                select(Interaction.outcome).where(Interaction.direction == "event")
            )
        ).all()
    assert events.count("workflow_step_done") == 7
    assert events.count("workflow_escalated") == 1
    assert {"workflow_started", "workflow_finished"} <= set(events)


async def test_alur_is_for_staff_only(
    sessions: Sessions, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    helpdesk = make_helpdesk(kb)
    with caplog.at_level(logging.WARNING):
        queued = await handle(sessions, helpdesk, command("alur", "mulai 6.C.f | x"))
    assert "staf" in queued[0].payload["html"].lower()
    assert "refused /alur to non-staff telegram user 111" in caplog.text
    async with sessions() as session:
        assert (await session.scalars(select(WorkflowInstance))).all() == []


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("mulai 9.Z | x", "tidak dikenal"),
        ("mulai 6.C.f | x | dekan=a@b.id", "peran tidak dikenal"),
        ("mulai 6.C.f | x | dosen=tg:4242", "belum pernah menghubungi"),
        ("mulai 6.C.f | x | dosen", "peran=pemegang"),
    ],
)
async def test_bad_start_explains_and_creates_nothing(
    sessions: Sessions, kb: KnowledgeBase, args: str, problem: str
) -> None:
    helpdesk = make_helpdesk(kb)
    queued = await handle(sessions, helpdesk, staff("alur", args))
    assert problem in queued[-1].payload["html"]
    async with sessions() as session:
        assert (await session.scalars(select(WorkflowInstance))).all() == []
