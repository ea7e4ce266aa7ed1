"""End to end with an LMS: the real service, the Bot API test server and the Moodle test server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from handlers.delivery import to_payload
from handlers.messages import Channel, Outbound
from handlers.tickets import card, card_buttons
from helpdesk.settings import LmsSettings, Settings
from storage import people, queues, tickets
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import (
    STAFF_GROUP,
    STAFF_ID,
    STUDENT_ID,
    RunningHelpdesk,
    button,
    eventually,
    settings_for,
)
from tests.moodle.server import FakeMoodle

pytestmark = [pytest.mark.e2e, pytest.mark.db]

LECTURER_ID = 222
TEKNIK = 7
COURSE_REQUEST = {
    "faculty": "Fakultas Teknik",
    "programme": "Teknik Informatika",
    "course_code": "IF201",
    "course_name": "Basis Data",
    "credits": 3,
    "semester": "ganjil",
    "academic_year": "2026/2027",
    "classes": ["A", "B"],
    "students": 40,
    "nidn": "0801018001",
    "email": "made@unr.example",
}


@pytest.fixture
async def moodle() -> AsyncIterator[FakeMoodle]:
    async with FakeMoodle() as server:
        server.state.categories.add(TEKNIK)
        yield server


@pytest.fixture
def settings(api: FakeBotApi, database_url: str, tmp_path: Path, moodle: FakeMoodle) -> Settings:
    api.user(LECTURER_ID, "Made", language_code="id")
    base = settings_for(api, database_url, state_dir=tmp_path)
    lms = LmsSettings.model_validate(
        {
            "url": moodle.url,
            "token": moodle.token,
            "timeout": 3,
            "categories": {"Fakultas Teknik": TEKNIK},
        }
    )
    return base.model_copy(update={"lms": lms})


async def open_request(helpdesk: RunningHelpdesk, kind: str, details: dict[str, Any]) -> int:
    """A guided flow's ticket from the lecturer, with its staff card (as the flows send it)."""
    service = helpdesk.service
    assert service is not None and service.sender is not None
    async with service.sessions.begin() as session:
        identity = await people.identify(session, "telegram", str(LECTURER_ID), "Made")
        identity.person.role = "dosen"
        ticket = await tickets.open_ticket(
            session,
            requester_id=identity.person.id,
            channel="telegram",
            chat_id=str(LECTURER_ID),
            question=f"Permohonan {kind} {details['course_code']}",
            topic="buat_mk" if kind == "course_creation" else "enrollment_mk",
        )
        ticket.kind, ticket.details = kind, details
        outbound = Outbound(
            channel=Channel.TELEGRAM,
            chat_id=str(STAFF_GROUP),
            html=card(ticket, identity.person, kind),
            buttons=card_buttons(ticket, config=service.helpdesk.config),
            purpose="ticket_card",
            ticket_id=ticket.id,
        )
        queues.enqueue(
            session, "telegram", str(STAFF_GROUP), to_payload(outbound), ticket_id=ticket.id
        )
        number = ticket.id
    service.sender.wake()
    return number


async def test_a_missing_course_is_found_missing(
    api: FakeBotApi, moodle: FakeMoodle, helpdesk: RunningHelpdesk
) -> None:
    moodle.add_course("IF999", "Other course")
    await api.send_text(
        STUDENT_ID, "matkul IF201 tidak muncul di LMS, email saya dewi@unr.example"
    )

    [answer] = await api.wait_for_messages(STUDENT_ID, 1)
    assert "IF201 belum ada di LMS" in answer.text
    assert button(answer, "k:buat_mk") == "k:buat_mk"
    assert "core_course_search_courses" in moodle.functions_called()
    assert await helpdesk.tickets() == []
    outcomes = [(r.direction, r.outcome) for r in await helpdesk.report()]
    assert ("in", "lms_lookup") in outcomes


async def test_asks_for_the_code_then_finds_the_course_and_the_enrolment(
    api: FakeBotApi, moodle: FakeMoodle, helpdesk: RunningHelpdesk
) -> None:
    course = moodle.add_course("IF201-A-2026/2027", "Basis Data - Kelas A")
    moodle.enrol(moodle.add_user("2201010001", "dewi@unr.example", "Dewi"), course)
    await api.send_text(STUDENT_ID, "mata kuliah saya tidak ada di LMS")
    [question] = await api.wait_for_messages(STUDENT_ID, 1)
    assert "kode mata kuliah" in question.text and "email atau username" in question.text

    await api.send_text(STUDENT_ID, "IF201, nim 2201010001")
    messages = await api.wait_for_messages(STUDENT_ID, 2)
    assert "sudah terdaftar" in messages[1].text
    assert f"{moodle.url}/course/view.php?id={course}" in messages[1].text


async def test_found_but_not_enrolled_goes_to_staff_who_enrol_in_one_press(
    api: FakeBotApi, moodle: FakeMoodle, helpdesk: RunningHelpdesk
) -> None:
    course = moodle.add_course("IF201-A-2026/2027", "Basis Data - Kelas A")
    student = moodle.add_user("2201010001", "dewi@unr.example", "Dewi")
    await api.send_text(
        STUDENT_ID, "matkul IF201 tidak muncul di LMS, email saya dewi@unr.example"
    )

    [answer] = await api.wait_for_messages(STUDENT_ID, 1)
    assert "belum terdaftar" in answer.text and "#1" in answer.text
    [staff_card] = await api.wait_for_messages(STAFF_GROUP, 1)
    assert "IF201-A-2026/2027" in staff_card.text
    await api.press(STAFF_ID, staff_card, button(staff_card, "l:e:1"), chat=STAFF_GROUP)

    messages = await api.wait_for_messages(STUDENT_ID, 2)
    assert "Terdaftar (1): dewi@unr.example (Dewi)" in messages[1].text
    assert moodle.roles_in(course) == {(student, 5)}
    report = await helpdesk.report()
    assert any(r.outcome == "lms_enrolled" and r.handled_by == "Staf Ayu" for r in report)
    assert any(r.outcome == "lms_enrol_approved" and r.handled_by == "Staf Ayu" for r in report)


async def test_course_creation_approved_by_staff_lands_in_the_lms_with_its_lecturer(
    api: FakeBotApi, moodle: FakeMoodle, helpdesk: RunningHelpdesk
) -> None:
    lecturer = moodle.add_user("0801018001", "made@unr.example", "Made Dosen")
    number = await open_request(helpdesk, "course_creation", COURSE_REQUEST)
    [staff_card] = await api.wait_for_messages(STAFF_GROUP, 1)

    await api.press(STAFF_ID, staff_card, button(staff_card, f"l:c:{number}"), chat=STAFF_GROUP)
    [told] = await api.wait_for_messages(LECTURER_ID, 1)

    created = [moodle.course_named(f"IF201-{c}-2026/2027") for c in ("A", "B")]
    assert all(c is not None and c["categoryid"] == TEKNIK for c in created)
    assert created[0] is not None and created[0]["fullname"] == (
        "Basis Data - Kelas A (Ganjil 2026/2027)"
    )
    for course in created:
        assert course is not None
        assert moodle.roles_in(course["id"]) == {(lecturer, 3)}
        assert f"/course/view.php?id={course['id']}" in told.text
    assert "terdaftar sebagai pengajar" in told.text
    notices = await api.wait_for_messages(STAFF_GROUP, 2)
    assert "Staf Ayu membuat mata kuliah" in notices[1].text
    report = await helpdesk.report()
    rows = [r for r in report if r.outcome == "lms_course_created"]
    assert [r.handled_by for r in rows] == ["Staf Ayu"]
    [ticket] = await helpdesk.tickets()
    assert ticket.details is not None and set(ticket.details["lms_courses"]) == {"A", "B"}

    # Pressed again later: nothing is created twice.
    await api.press(STAFF_ID, staff_card, f"l:c:{number}", chat=STAFF_GROUP)
    await api.wait_for(
        lambda: any("sudah dibuat" in str(c.params.get("text", "")) for c in api.calls)
    )
    assert moodle.functions_called().count("core_course_create_courses") == 2


async def test_a_taken_short_name_offers_the_existing_course(
    api: FakeBotApi, moodle: FakeMoodle, helpdesk: RunningHelpdesk
) -> None:
    lecturer = moodle.add_user("0801018001", "made@unr.example", "Made Dosen")
    existing = moodle.add_course("IF201-A-2026/2027", "Basis Data A (lama)")
    number = await open_request(helpdesk, "course_creation", {**COURSE_REQUEST, "classes": ["A"]})
    [staff_card] = await api.wait_for_messages(STAFF_GROUP, 1)

    await api.press(STAFF_ID, staff_card, button(staff_card, f"l:c:{number}"), chat=STAFF_GROUP)
    offer = (await api.wait_for_messages(STAFF_GROUP, 2))[1]
    assert "sudah dipakai" in offer.text and "Basis Data A (lama)" in offer.text
    assert "shortnametaken" not in offer.text
    assert api.messages_to(LECTURER_ID) == []

    use = button(offer, f"l:u:{number}:{existing}")
    await api.press(STAFF_ID, offer, use, chat=STAFF_GROUP)
    [told] = await api.wait_for_messages(LECTURER_ID, 1)
    assert f"/course/view.php?id={existing}" in told.text
    assert moodle.roles_in(existing) == {(lecturer, 3)}
    named = [c for c in moodle.state.courses.values() if c["shortname"] == "IF201-A-2026/2027"]
    assert len(named) == 1


async def test_an_unknown_student_in_an_enrollment_list_is_named_to_the_lecturer(
    api: FakeBotApi, moodle: FakeMoodle, helpdesk: RunningHelpdesk
) -> None:
    course = moodle.add_course("IF301-A-2026/2027", "Jaringan Komputer - Kelas A")
    dewi = moodle.add_user("2201010001", "dewi@unr.example", "Dewi")
    komang = moodle.add_user("2201010002", "komang@unr.example", "Komang")
    details = {
        "course_code": "IF301",
        "course_name": "Jaringan Komputer",
        "class": "A",
        "semester": "ganjil",
        "academic_year": "2026/2027",
        "problem": "mahasiswa belum masuk kelas",
        "students": ["2201010001", "KOMANG@unr.example", "hilang@unr.example"],
    }
    number = await open_request(helpdesk, "enrollment", details)
    [staff_card] = await api.wait_for_messages(STAFF_GROUP, 1)

    await api.press(STAFF_ID, staff_card, button(staff_card, f"l:e:{number}"), chat=STAFF_GROUP)
    [summary] = await api.wait_for_messages(LECTURER_ID, 1)
    assert "Terdaftar (2)" in summary.text
    assert "Tidak ditemukan di LMS (1): hilang@unr.example" in summary.text
    assert moodle.roles_in(course) == {(dewi, 5), (komang, 5)}


async def test_a_slow_lms_gives_staff_will_check_with_a_ticket_and_never_stalls_answers(
    api: FakeBotApi, moodle: FakeMoodle, helpdesk: RunningHelpdesk
) -> None:
    moodle.delay = 6.0  # the helpdesk gives up after lms.timeout = 3 s
    await api.send_text(
        STUDENT_ID, "matkul IF201 tidak muncul di LMS, email saya dewi@unr.example"
    )
    await api.send_text(STUDENT_ID, "cara aktivasi akun e-learning")

    first = (await api.wait_for_messages(STUDENT_ID, 1))[0]
    assert "aktivasi" in first.text.lower()  # answered while the LMS is still silent
    messages = await api.wait_for_messages(STUDENT_ID, 2, timeout=20)
    assert "Staf kami akan memeriksanya" in messages[1].text and "#1" in messages[1].text
    staff = await api.wait_for_messages(STAFF_GROUP, 2)
    assert "LMS tidak menjawab dalam 3 detik" in staff[1].text
    [ticket] = await helpdesk.tickets()
    assert ticket.topic == "cari_mk" and "IF201" in ticket.question


async def test_a_wrong_token_at_start_up_is_reported_and_the_helpdesk_still_answers(
    api: FakeBotApi,
    moodle: FakeMoodle,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    lms = settings.lms.model_copy(update={"token": SecretStr("not-the-token")})
    running = RunningHelpdesk(settings.model_copy(update={"lms": lms}))
    await running.start()
    try:
        assert running.service is not None and running.service.lms is not None
        worker = running.service.lms

        async def checked() -> bool:
            return worker.checked is not None

        await eventually(checked)
        assert worker.checked is not None and not worker.checked.ok
        assert "refused the web-service token" in caplog.text
        assert "not-the-token" not in caplog.text
        await api.send_text(STUDENT_ID, "cara aktivasi akun e-learning")
        [answer] = await api.wait_for_messages(STUDENT_ID, 1)
        assert "aktivasi" in answer.text.lower()
    finally:
        await running.stop()


async def test_only_staff_may_press_lms_buttons(
    api: FakeBotApi,
    moodle: FakeMoodle,
    helpdesk: RunningHelpdesk,
    caplog: pytest.LogCaptureFixture,
) -> None:
    number = await open_request(helpdesk, "course_creation", COURSE_REQUEST)
    [staff_card] = await api.wait_for_messages(STAFF_GROUP, 1)
    await api.press(STUDENT_ID, staff_card, f"l:c:{number}", chat=STAFF_GROUP)

    await api.wait_for(
        lambda: any(
            c.method == "answerCallbackQuery" and "staf" in str(c.params.get("text", ""))
            for c in api.calls
        )
    )
    assert f"refused LMS action c on ticket #{number}" in caplog.text
    assert "core_course_create_courses" not in moodle.functions_called()
