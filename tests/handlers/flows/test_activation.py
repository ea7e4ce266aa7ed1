"""Account activation through `Helpdesk.handle`: codes by email, limits, linking, staff."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import EmailRules
from handlers.lms_port import LmsConfig
from handlers.messages import Channel
from helpdesk.logs import _QUIET
from storage import roster
from storage.models import ActivationCode, Identity, LmsJob, OutboxMessage, Person
from storage.roster import RosterRow
from storage.types import utcnow
from tests.handlers.flows.desk import STAFF_CHAT, Desk, Sent, make_helpdesk, to

pytestmark = pytest.mark.db

STUDENT = "111"
ROWS = [
    RosterRow("2021010001", "mahasiswa", "Dewi Lestari", "dewi@student.unr.example", "TI"),
    RosterRow("2021010002", "mahasiswa", "Tanpa Email", None, "Manajemen"),
    RosterRow("0012345678", "dosen", "Budi Santoso", "budi@unr.example", "Teknik Sipil"),
]
CODE = re.compile(r"<b>(\d{6})</b>")
# An email channel with SMTP: codes can leave (without it, see the tests at the end).
MAIL = EmailRules(address="helpdesk@unr.example")


@pytest.fixture
async def desk(sessions: async_sessionmaker[AsyncSession]) -> Desk:
    async with sessions.begin() as session:
        await roster.upsert(session, ROWS)
    return Desk(sessions, make_helpdesk(email=MAIL))


def code_in(sent: list[Sent]) -> str:
    [mail] = [s for s in sent if s.subject == "Kode aktivasi akun SUNARI"]
    assert mail.channel == Channel.EMAIL
    found = CODE.search(mail.html)
    assert found is not None
    return found[1]


async def request_code(desk: Desk, *, user: str = STUDENT, nim: str = "2021010001") -> str:
    [question] = await desk.say("/aktivasi", user=user)
    assert "ketik NIM Anda" in question.html
    return code_in(await desk.say(nim, user=user))


async def test_right_code_links_the_account_and_tells_platform_staff(
    desk: Desk, sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await desk.say("/aktivasi")
    sent = await desk.say("2021010001")

    [mail] = [s for s in sent if s.channel == Channel.EMAIL]
    assert mail.chat_id == "dewi@student.unr.example"
    assert mail.subject == "Kode aktivasi akun SUNARI"
    [told] = to(sent, STUDENT)
    assert "d***@student.unr.example" in told.html and "15 menit" in told.html
    assert "dewi@" not in told.html
    code = code_in(sent)

    done = await desk.say(code)

    [ticket] = await desk.tickets()
    assert ticket.kind == "activation"
    async with sessions() as session:
        person = (await session.scalars(select(Person).where(Person.role == "mahasiswa"))).one()
        entry = await roster.by_number(session, "2021010001")
        mail_identity = await session.scalar(select(Identity).where(Identity.channel == "email"))
    assert ticket.details == {
        "nim": "2021010001",
        "name": "Dewi Lestari",
        "email": "dewi@student.unr.example",
        "programme": "TI",
        "person_id": person.id,
    }
    assert entry is not None and entry.person_id == person.id
    assert mail_identity is not None and mail_identity.person_id == person.id
    assert "Berhasil" in to(done, STUDENT)[0].html
    [card] = to(done, STAFF_CHAT)
    assert "2021010001" in card.html and f"t:d:{ticket.id}" in [d for _, d in card.buttons]
    # The code is in the queued email only: never in the report, never in the log.
    report = await desk.report()
    assert not [r for r in report if code in r.text]
    assert "[kode aktivasi]" in [r.text for r in report]
    assert "[kode aktivasi dikirim ke d***@student.unr.example]" in [r.text for r in report]
    # aiosqlite's DEBUG lines carry SQL parameters; `helpdesk.logs` keeps it at INFO.
    leaked = [r for r in caplog.records if code in r.getMessage()]
    assert {r.name for r in leaked} <= {"aiosqlite"}
    assert _QUIET["aiosqlite"] >= logging.INFO
    async with sessions() as session:
        stored = (await session.scalars(select(ActivationCode))).one()
    assert code not in stored.code_hash and stored.used_at is not None

    again = await desk.say("/aktivasi")
    assert "sudah terhubung" in again[0].html
    finished = await desk.staff(f"t:d:{ticket.id}")
    assert "Akun LMS Anda (NIM 2021010001) sudah disiapkan" in to(finished, STUDENT)[0].html


async def test_five_wrong_codes_cancel_the_code(desk: Desk) -> None:
    code = await request_code(desk)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    for left in (4, 3, 2, 1):
        [reply] = await desk.say(wrong)
        assert f"Sisa percobaan: {left}" in reply.html
    [locked] = await desk.say(wrong)
    assert "salah 5 kali" in locked.html

    await desk.say(code)  # the right code now is just text: nothing is linked
    assert await desk.tickets() == []
    assert await desk.conversations() == []


async def test_text_that_is_not_a_code_does_not_use_an_attempt(desk: Desk) -> None:
    await request_code(desk)

    [reply] = await desk.say("kodenya belum masuk")

    assert "Kode berisi 6 angka" in reply.html
    [conversation] = await desk.conversations()
    assert conversation.data["step"] == "code"


async def test_a_wrongly_formatted_code_is_answered_once(desk: Desk) -> None:
    await request_code(desk)

    [reply] = await desk.say("12ab")

    assert reply.html.count("Kode berisi 6 angka") == 1
    assert reply.html.startswith("⚠️ ")


async def test_expired_code_is_refused_and_a_new_one_can_be_sent(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    code = await request_code(desk)
    async with sessions.begin() as session:
        await session.execute(
            update(ActivationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )

    [expired] = await desk.say(code)
    assert "kedaluwarsa (berlaku 15 menit)" in expired.html

    fresh = code_in(await desk.press(expired.data("Kirim kode baru")))
    done = await desk.say(fresh)
    assert "Berhasil" in to(done, STUDENT)[0].html


async def test_unknown_nim_and_missing_email_go_to_staff(desk: Desk) -> None:
    await desk.say("/aktivasi")
    unknown = await desk.say("2099999999")
    assert "tidak ada di daftar aktivasi" in to(unknown, STUDENT)[0].html
    assert "tidak ada di daftar aktivasi" in to(unknown, STAFF_CHAT)[0].html

    await desk.say("/aktivasi", user="222")
    no_mail = await desk.say("2021010002", user="222")
    assert "belum ada alamat email" in to(no_mail, "222")[0].html

    tickets = await desk.tickets()
    assert [(t.kind, t.topic) for t in tickets] == [(None, "aktivasi_akun")] * 2
    assert not [s for s in unknown + no_mail if s.channel == Channel.EMAIL]


async def test_a_nim_linked_to_someone_else_goes_to_staff(desk: Desk) -> None:
    await desk.say(await request_code(desk))

    await desk.say("/aktivasi", user="333")
    taken = await desk.say("2021010001", user="333")

    assert "sudah terhubung dengan akun lain" in to(taken, "333")[0].html


async def test_bad_nim_says_what_a_nim_looks_like(desk: Desk) -> None:
    await desk.say("/aktivasi")

    [reply] = await desk.say("nim saya 123")

    assert "NIM «nim saya 123» tidak sesuai" in reply.html


async def test_a_linked_lecturer_is_not_asked_nidn_or_email_again(desk: Desk) -> None:
    await desk.say(await request_code(desk, nim="0012345678"))

    [first] = await desk.say("/buatmk")

    assert "(1/9)" in first.html
    for value in ("1", "1", "TIF2101", "Algoritma", "3", "1", "2026/2027", "A"):
        await desk.say(value)
    [summary] = await desk.say("40")
    assert "<b>NIDN</b>: 0012345678" in summary.html
    await desk.say("ya")
    [ticket] = await desk.tickets()
    assert ticket.details is not None
    assert (ticket.details["nidn"], ticket.details["email"]) == ("0012345678", "budi@unr.example")
    [menu] = await desk.say("/bantuan")
    assert "f:s:aktivasi_akun" not in [d for _, d in menu.buttons]


async def test_a_linked_student_is_offered_activation_not_lecturer_forms(desk: Desk) -> None:
    await desk.say(await request_code(desk))

    [refused] = await desk.say("/buatmk")
    [menu] = await desk.say("/bantuan")

    assert "Formulir ini untuk dosen" in refused.html
    flows = [d for _, d in menu.buttons if d.startswith("f:")]
    assert flows == ["f:s:aktivasi_akun"]


async def test_rate_limit_counts_codes_per_person_and_per_nim(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await request_code(desk)
    for _ in range(2):
        [conversation] = await desk.conversations()
        sent = await desk.press(f"f:{conversation.data['fid']}:r")
        code_in(sent)

    [conversation] = await desk.conversations()
    sent = await desk.press(f"f:{conversation.data['fid']}:r")

    assert not [s for s in sent if s.channel == Channel.EMAIL]
    assert "Sudah 3 kode diminta dalam satu jam terakhir" in sent[0].html
    await desk.say("/aktivasi", user="444")
    other = await desk.say("2021010001", user="444")  # another person, same NIM
    assert "Sudah 3 kode" in other[0].html
    async with sessions() as session:
        queued = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))
        ).all()
    assert len(queued) == 3


async def test_activation_by_email_reads_the_first_line_of_each_reply(desk: Desk) -> None:
    address = "dewi.pribadi@mail.example"
    quoted = "\n\n> Untuk aktivasi akun, ketik NIM Anda.\n> 2021019999\n"
    [answer] = await desk.say(
        "bagaimana cara aktivasi akun e-learning", user=address, channel=Channel.EMAIL
    )
    assert "ketik NIM Anda" in answer.html

    sent = await desk.say("2021010001" + quoted, user=address, channel=Channel.EMAIL)
    code = code_in(sent)
    done = await desk.say(f"Kode saya {code}" + quoted, user=address, channel=Channel.EMAIL)
    assert "Kode berisi 6 angka" in done[0].html  # one line, six digits: nothing guessed
    done = await desk.say(code + quoted, user=address, channel=Channel.EMAIL)

    assert "Berhasil" in to(done, address)[0].html
    [ticket] = await desk.tickets()
    assert ticket.channel == "email" and ticket.kind == "activation"


async def test_with_an_lms_the_activation_ticket_queues_an_account_check(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await roster.upsert(session, ROWS)
    desk = Desk(sessions, make_helpdesk(lms=LmsConfig(url="https://lms.unr.example"), email=MAIL))

    await desk.say(await request_code(desk))

    [ticket] = await desk.tickets()
    async with sessions() as session:
        jobs = (await session.scalars(select(LmsJob))).all()
    assert [(job.action, job.ticket_id, job.status) for job in jobs] == [
        ("activation", ticket.id, "pending")
    ]


async def test_without_an_lms_activation_queues_no_account_check(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk.say(await request_code(desk))

    async with sessions() as session:
        assert (await session.scalars(select(LmsJob))).all() == []


async def test_without_email_no_code_is_made_and_staff_take_the_request(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    async with sessions.begin() as session:
        await roster.upsert(session, ROWS)
    desk = Desk(sessions, make_helpdesk())  # Telegram only: no email channel, no SMTP

    await desk.say("/aktivasi")
    sent = await desk.say("2021010001")

    [told] = to(sent, STUDENT)
    assert "tidak dapat dikirim lewat email" in told.html
    assert "sudah dikirim" not in told.html and "d***@" not in told.html
    [ticket] = await desk.tickets()
    assert f"tiket <b>#{ticket.id}</b>" in told.html
    assert ticket.kind is None and "2021010001" in ticket.question
    assert "Dewi" not in ticket.question + told.html  # the asker is not proven to be her
    [card] = to(sent, STAFF_CHAT)
    assert "2021010001" in card.html
    assert not [s for s in sent if s.channel == Channel.EMAIL]
    async with sessions() as session:
        assert (await session.scalars(select(ActivationCode))).all() == []
        assert (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))
        ).all() == []
    assert await desk.conversations() == []
    assert "no email transport" in caplog.text

    english = await desk.say("/aktivasi", user="444", language="en")
    assert "NIM" in english[0].html
    [answer] = to(await desk.say("2021010001", user="444", language="en"), "444")
    assert "cannot be sent by email right now" in answer.html


async def test_a_new_code_is_not_made_once_email_is_gone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await roster.upsert(session, ROWS)
    await request_code(Desk(sessions, make_helpdesk(email=MAIL)))
    async with sessions.begin() as session:
        await session.execute(
            update(ActivationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    desk = Desk(sessions, make_helpdesk())  # restarted without the mail settings

    [expired] = await desk.say("123456")
    again = await desk.press(expired.data("Kirim kode baru"))

    assert "tidak dapat dikirim lewat email" in to(again, STUDENT)[0].html
    assert not [s for s in again if s.channel == Channel.EMAIL]
    async with sessions() as session:
        assert len((await session.scalars(select(ActivationCode))).all()) == 1
    assert len(await desk.tickets()) == 1
