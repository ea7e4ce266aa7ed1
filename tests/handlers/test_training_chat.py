"""Trainings in the chat: staff create one, people register by button, requests as tickets."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.knowledge import KnowledgeBase
from storage.models import Registration, Ticket, Training
from storage.types import utcnow

from .chat import STAFF_CHAT, Sessions, buttons, command, handle, make_helpdesk, press, staff

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _new_training_args(capacity: int = 1, extra: str = "") -> str:
    # Always ahead of the real clock: the handlers use it.
    day = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")
    return (
        f"Moodle dasar | internal | {day} 09:00 | {day} 12:00 | Lab Komputer 1 | {capacity}{extra}"
    )


async def test_create_list_register_wait_and_move_up(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    helpdesk = make_helpdesk(kb)
    created = await handle(sessions, helpdesk, staff("pelatihan_baru", _new_training_args()))
    assert "Pelatihan #1" in created[0].payload["html"]

    listing = await handle(sessions, helpdesk, command("pelatihan", user_id="111"))
    assert "Moodle dasar</b> (internal UNR)" in listing[0].payload["html"]
    assert buttons(listing[0]) == ["tr:r:1", "tr:c:1"]

    first = await handle(sessions, helpdesk, press("tr:r:1", user_id="111"))
    assert "terdaftar" in first[0].payload["html"]
    second = await handle(sessions, helpdesk, press("tr:r:1", user_id="222"))
    assert "daftar tunggu nomor 1" in second[0].payload["html"]
    again = await handle(sessions, helpdesk, press("tr:r:1", user_id="111"))
    assert "sudah terdaftar" in again[0].payload["html"]

    cancelled = await handle(sessions, helpdesk, press("tr:c:1", user_id="111"))
    assert "dibatalkan" in cancelled[0].payload["html"]
    async with sessions() as session:
        rows = (await session.scalars(select(Registration).order_by(Registration.id))).all()
    assert [r.status for r in rows] == ["cancelled", "registered"]

    people = await handle(sessions, helpdesk, staff("peserta", "1"))
    assert "Orang 222 · registered" in people[0].payload["html"]
    attended = await handle(sessions, helpdesk, staff("hadir", f"1 {rows[1].id}"))
    assert "1 hadir dari 1" in attended[0].payload["html"]
    bad = await handle(sessions, helpdesk, staff("hadir", f"1 {rows[0].id}"))
    assert "bukan peserta terdaftar" in bad[0].payload["html"]


async def test_an_external_training_is_eksternal_in_indonesian(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    helpdesk = make_helpdesk(kb)
    args = _new_training_args().replace("| internal |", "| eksternal |")
    await handle(sessions, helpdesk, staff("pelatihan_baru", args))

    listing = await handle(sessions, helpdesk, command("pelatihan", user_id="111"))
    assert "Moodle dasar</b> (eksternal)" in listing[0].payload["html"]


async def test_staff_commands_refused_to_others(
    sessions: Sessions, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    helpdesk = make_helpdesk(kb)
    with caplog.at_level(logging.WARNING):
        queued = await handle(
            sessions, helpdesk, command("pelatihan_baru", _new_training_args(), user_id="333")
        )
    assert "staf" in queued[0].payload["html"].lower()
    assert "refused /pelatihan_baru to non-staff telegram user 333" in caplog.text
    async with sessions() as session:
        assert (await session.scalars(select(Training))).all() == []


async def test_bad_training_command_explains(sessions: Sessions, kb: KnowledgeBase) -> None:
    helpdesk = make_helpdesk(kb)
    queued = await handle(sessions, helpdesk, staff("pelatihan_baru", "Moodle | internal | besok"))
    assert "Pelatihan tidak dibuat" in queued[0].payload["html"]
    assert "Format:" in queued[0].payload["html"]


async def test_request_becomes_a_ticket_and_gets_the_schedule(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    helpdesk = make_helpdesk(kb)
    asked = await handle(
        sessions, helpdesk, command("pelatihan", "minta Fakultas Teknik, 25 dosen", user_id="444")
    )
    assert any(m.chat_id == STAFF_CHAT for m in asked)
    async with sessions() as session:
        ticket = (await session.scalars(select(Ticket))).one()
    assert ticket.kind == "training_request"
    assert ticket.details == {"audience": "external", "request": "Fakultas Teknik, 25 dosen"}

    answered = await handle(
        sessions,
        helpdesk,
        staff("pelatihan_baru", _new_training_args(capacity=25, extra=f" | tiket={ticket.id}")),
    )
    to_requester = [m for m in answered if m.chat_id == "444"]
    assert len(to_requester) == 1
    assert f"tiket #{ticket.id}" in to_requester[0].payload["html"]
    assert "Lab Komputer 1" in to_requester[0].payload["html"]


async def test_langganan_toggles(sessions: Sessions, kb: KnowledgeBase) -> None:
    helpdesk = make_helpdesk(kb)
    on = await handle(sessions, helpdesk, command("langganan", user_id="555"))
    off = await handle(sessions, helpdesk, command("langganan", user_id="555"))
    assert "akan menerima" in on[0].payload["html"]
    assert "tidak lagi" in off[0].payload["html"]
