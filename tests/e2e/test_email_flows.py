"""Guided flows through the real mail servers: Dovecot in, the helpdesk, aiosmtpd out.

The course-creation form is filled in by replying to our mail, as a lecturer's client would
(In-Reply-To our Message-ID, our text quoted); the activation code is read from the mail the
SMTP sink received and typed into Telegram.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from helpdesk.settings import FlowSettings, Settings
from storage import roster
from storage.roster import RosterRow
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import STAFF_GROUP, STAFF_ID, STUDENT_ID, RunningHelpdesk, eventually
from tests.e2e.mail_harness import (
    STAFF_ADDRESS,
    append,
    body_text,
    mail_settings,
    make_mail,
    to_address,
)
from tests.e2e.test_flows import Chat
from tests.mailservers import DovecotServer, SmtpSink, dovecot_server_fixture, smtp_sink_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.db]

LECTURER = "budi.dosen@unr.example"
STUDENT_MAIL = "dewi@student.unr.example"
FACULTIES = {"Fakultas Teknik": ["Teknik Sipil", "Teknik Informatika"]}


@pytest.fixture
def settings(
    api: FakeBotApi, database_url: str, tmp_path: Path, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> Settings:  # fmt: skip
    base = mail_settings(api, database_url, dovecot_server, smtp_sink, state_dir=tmp_path)
    return base.model_copy(update={"flows": FlowSettings(faculties=FACULTIES)})


@pytest.fixture
async def helpdesk(settings: Settings) -> AsyncIterator[RunningHelpdesk]:
    running = RunningHelpdesk(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def _mail_number(sink: SmtpSink, address: str, number: int) -> EmailMessage:
    """The `number`-th mail (1-based) the sink received for `address`, once it is there."""

    async def arrived() -> bool:
        return len(to_address(sink, address)) >= number

    await eventually(arrived, timeout=30)
    return to_address(sink, address)[number - 1].message


def _reply(ours: EmailMessage, body: str, *, sender: str = LECTURER) -> bytes:
    """The person's answer to `ours`: threaded on it, our plain text quoted below."""
    quoted = "\n".join(f"> {line}" for line in body_text(ours).splitlines())
    text = f"{body}\n\nPada Jum, 4 Des 2026, Helpdesk <{ours['From']}> menulis:\n{quoted}\n"
    references = " ".join(filter(None, [ours["References"], ours["Message-ID"]]))
    raw, _ = make_mail(
        sender,
        f"Re: {ours['Subject']}",
        text,
        headers={"In-Reply-To": ours["Message-ID"], "References": references},
    )
    return raw


async def test_course_creation_form_by_email_with_errors_then_right(
    api: FakeBotApi, helpdesk: RunningHelpdesk, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:  # fmt: skip
    raw, mid = make_mail(
        f"Budi Santoso <{LECTURER}>",
        "Pembuatan MK daring",
        "Selamat pagi, saya ingin membuat mata kuliah daring baru untuk semester depan.",
    )
    await append(dovecot_server, raw)

    form = await _mail_number(smtp_sink, LECTURER, 1)
    assert form["In-Reply-To"] == f"<{mid}>"
    plain = body_text(form)
    for line in ("Fakultas: ", "Kode mata kuliah: ", "SKS: ", "NIDN: ", "Email: "):
        assert f"\n{line}" in plain, line
    assert "1. Fakultas Teknik" in plain

    wrong = (
        "Fakultas: 1\nProgram studi: Teknik Informatika\nKode mata kuliah: TIF2101\n"
        "Nama mata kuliah: Algoritma dan Pemrograman\nSKS: 9\nSemester: ganjil\n"
        "Tahun akademik: 2026/2028\nKelas: A, B\nJumlah mahasiswa: 40\nNIDN: 12345\n"
        f"Email: {LECTURER}"
    )
    await append(dovecot_server, _reply(form, wrong))

    errors = await _mail_number(smtp_sink, LECTURER, 2)
    assert errors["In-Reply-To"] is not None
    listed = body_text(errors)
    assert "Beberapa isian perlu diperbaiki" in listed
    assert "SKS harus bilangan bulat 1 sampai 6" in listed
    assert "NIDN harus tepat 10 angka" in listed
    assert listed.count("⚠️") == 3  # SKS, NIDN, and 2026/2028 is not two consecutive years
    assert "Tahun akademik: \n" in listed.replace("\r\n", "\n")  # asked again, empty
    assert "Kode mata kuliah:" not in listed  # what was right is not asked again

    fixed = "SKS: 3\nTahun akademik: 2026/2027\nNIDN: 0012345678"
    await append(dovecot_server, _reply(errors, fixed))

    summary = body_text(await _mail_number(smtp_sink, LECTURER, 3))
    assert "TIF2101" in summary and "0012345678" in summary and "2026/2027" in summary
    assert "YA" in summary
    assert await helpdesk.tickets() == []  # nothing goes to staff before the lecturer confirms

    confirm_to = to_address(smtp_sink, LECTURER)[2].message
    await append(dovecot_server, _reply(confirm_to, "YA"))

    submitted = body_text(await _mail_number(smtp_sink, LECTURER, 4))
    assert "#1" in submitted
    [ticket] = await helpdesk.tickets()
    assert (ticket.kind, ticket.channel, ticket.chat_id) == ("course_creation", "email", LECTURER)
    assert ticket.details == {
        "faculty": "Fakultas Teknik",
        "programme": "Teknik Informatika",
        "course_code": "TIF2101",
        "course_name": "Algoritma dan Pemrograman",
        "credits": 3,
        "semester": "ganjil",
        "academic_year": "2026/2027",
        "classes": ["A", "B"],
        "students": 40,
        "nidn": "0012345678",
        "email": LECTURER,
    }
    [card] = await api.wait_for_messages(STAFF_GROUP, 1, timeout=20)
    assert "Tiket #1" in card.text and "TIF2101" in card.text and "0012345678" in card.text
    assert any(str(b.get("callback_data", "")) == "t:d:1" for b in card.buttons)
    copy = await _mail_number(smtp_sink, STAFF_ADDRESS, 1)
    assert "TIF2101" in body_text(copy)
    outcomes = [r.outcome for r in await helpdesk.report() if r.topic == "buat_mk"]
    assert "flow_invalid" in outcomes and outcomes.count("flow_submitted") == 1


async def test_activation_on_telegram_with_the_code_from_the_delivered_mail(
    api: FakeBotApi, helpdesk: RunningHelpdesk, smtp_sink: SmtpSink
) -> None:
    async def add_roster(session: Any) -> None:
        row = RosterRow("2021010001", "mahasiswa", "Dewi", STUDENT_MAIL, "TI")
        await roster.upsert(session, [row])
        await session.commit()

    await helpdesk.query(add_roster)
    dewi = Chat(api, STUDENT_ID)
    asked = await dewi.say("/aktivasi")
    assert "NIM" in asked.text
    sent = await dewi.say("2021010001")
    assert "d***@student.unr.example" in sent.text

    mail = await _mail_number(smtp_sink, STUDENT_MAIL, 1)
    assert mail["Subject"] == "Kode aktivasi akun SUNARI"
    found = re.search(r"\b(\d{6})\b", body_text(mail))
    assert found is not None, body_text(mail)
    assert found[1] in body_text(mail, "html")
    assert found[1] not in sent.text  # the chat shows where the code went, never the code

    assert "Kode berisi 6 angka" in (await dewi.say("12ab")).text
    wrong = await dewi.say(f"{(int(found[1]) + 1) % 10**6:06d}")
    assert "Sisa percobaan: 4" in wrong.text
    linked = await dewi.say(found[1])
    assert "Berhasil" in linked.text
    [card] = await api.wait_for_messages(STAFF_GROUP, 1, timeout=20)
    assert "2021010001" in card.text
    [ticket] = await helpdesk.tickets()
    assert ticket.kind == "activation" and ticket.details is not None
    assert ticket.details["nim"] == "2021010001" and ticket.details["email"] == STUDENT_MAIL

    again = await dewi.say("/aktivasi")  # linked now: no second code is sent
    assert found[1] not in again.text
    assert len(to_address(smtp_sink, STUDENT_MAIL)) == 1
    assert not [r for r in await helpdesk.report() if found[1] in r.text]


async def test_activation_by_email_replies_threaded_on_our_mail(
    api: FakeBotApi, helpdesk: RunningHelpdesk, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:  # fmt: skip
    async def add_roster(session: Any) -> None:
        row = RosterRow("2021010002", "mahasiswa", "Dewi", STUDENT_MAIL, "TI")
        await roster.upsert(session, [row])
        await session.commit()

    await helpdesk.query(add_roster)
    raw, _ = make_mail(
        f"Dewi <{STUDENT_MAIL}>", "Aktivasi", "akun sunari saya belum aktif, cara aktivasinya?"
    )
    await append(dovecot_server, raw)
    asked = await _mail_number(smtp_sink, STUDENT_MAIL, 1)
    assert "NIM" in body_text(asked)

    await append(dovecot_server, _reply(asked, "2021010002", sender=STUDENT_MAIL))
    await _mail_number(smtp_sink, STUDENT_MAIL, 3)  # "the code went to d***@..." and the code
    [code_mail] = [
        m.message
        for m in to_address(smtp_sink, STUDENT_MAIL)
        if m.message["Subject"] == "Kode aktivasi akun SUNARI"
    ]
    found = re.search(r"\b(\d{6})\b", body_text(code_mail))
    assert found is not None
    assert await helpdesk.tickets() == []  # the NIM reply was not handed over as a question

    await append(dovecot_server, _reply(code_mail, found[1], sender=STUDENT_MAIL))
    linked = body_text(await _mail_number(smtp_sink, STUDENT_MAIL, 4))
    assert "Berhasil" in linked
    [ticket] = await helpdesk.tickets()
    assert ticket.kind == "activation" and ticket.details is not None
    assert ticket.details["nim"] == "2021010002"
    await api.wait_for_messages(STAFF_GROUP, 1, timeout=20)


async def test_partner_marks_a_workflow_step_done_by_replying_selesai(
    api: FakeBotApi, helpdesk: RunningHelpdesk, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:  # fmt: skip
    partner = "kerjasama@univy.example"
    await api.send_text(
        STAFF_ID,
        f"/alur@unr_helpdesk_bot mulai 6.D.c | Kerja sama Univ Y | mitra={partner}",
        chat=STAFF_GROUP,
    )
    # Step 1 of the cooperation agreement is the partner's, who is reachable only by email.
    notice = await _mail_number(smtp_sink, partner, 1)
    assert notice["Subject"].endswith("[alur #1.1]")
    assert "SELESAI" in body_text(notice)

    await append(dovecot_server, _reply(notice, "Selesai, draf sudah kami kirim.", sender=partner))
    confirmed = await _mail_number(smtp_sink, partner, 2)
    assert "ditandai selesai" in body_text(confirmed)
    assert confirmed["In-Reply-To"] is not None
    # Step 2 belongs to UPT, which is the staff group's.
    await api.wait_for(
        lambda: any("Langkah 2/8" in m.text for m in api.messages_to(STAFF_GROUP)), timeout=20
    )
    assert await helpdesk.tickets() == []  # the reply was a mark, not a question
    outcomes = [r.outcome for r in await helpdesk.report() if r.topic == "alur"]
    assert outcomes.count("workflow_step_done") == 2  # the event and the reply's own row
