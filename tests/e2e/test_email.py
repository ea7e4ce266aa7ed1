"""The email channel end to end: Dovecot in, the helpdesk, aiosmtpd out, Telegram beside."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from helpdesk.settings import Settings
from storage import queues
from storage.models import Identity, InboundUpdate
from tests.botapi.server import FakeBotApi
from tests.conftest import shared_path
from tests.e2e.harness import STAFF_GROUP, STAFF_ID, STUDENT_ID, RunningHelpdesk, eventually
from tests.e2e.mail_harness import (
    STAFF_ADDRESS,
    append,
    body_text,
    mail_settings,
    make_mail,
    to_address,
)
from tests.mailservers import DovecotServer, SmtpSink, dovecot_server_fixture, smtp_sink_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.db]

USER = "dosen.wayan@unr.example"
QUESTION = "Saya lupa password akun e-learning, bagaimana cara reset?"
HANDOVER = "Berapa biaya UKT semester ini untuk program kerjasama?"


@pytest.fixture
def settings(
    api: FakeBotApi, database_url: str, tmp_path: Path, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> Settings:  # fmt: skip
    return mail_settings(api, database_url, dovecot_server, smtp_sink, state_dir=tmp_path)


@pytest.fixture
async def helpdesk(settings: Settings) -> AsyncIterator[RunningHelpdesk]:
    running = RunningHelpdesk(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_question_answered_with_threading_headers(
    helpdesk: RunningHelpdesk, dovecot_server: DovecotServer, smtp_sink: SmtpSink
) -> None:
    raw, mid = make_mail(f"Wayan <{USER}>", "Lupa password", QUESTION)
    uid = await append(dovecot_server, raw)

    await smtp_sink.wait_for(1, timeout=20)
    [reply] = to_address(smtp_sink, USER)
    message = reply.message
    assert message["In-Reply-To"] == f"<{mid}>"
    assert f"<{mid}>" in message["References"]
    assert message["Subject"].startswith("Re: Lupa password")
    assert message["Message-ID"] and mid not in message["Message-ID"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    assert "kata sandi" in body_text(message).lower()
    await eventually(lambda: _seen(dovecot_server, uid))


async def _seen(dovecot: DovecotServer, uid: int) -> bool:
    return "\\Seen" in dovecot.flags(uid)


async def test_email_ticket_answered_by_staff_on_telegram(
    api: FakeBotApi, helpdesk: RunningHelpdesk, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:  # fmt: skip
    raw, _mid = make_mail(f"Wayan <{USER}>", "Kelas mitra", HANDOVER)
    await append(dovecot_server, raw)

    [card] = await api.wait_for_messages(STAFF_GROUP, 1, timeout=20)
    assert "Tiket #1" in card.text and HANDOVER in card.text
    await smtp_sink.wait_for(2, timeout=20)  # the user's confirmation and the staff copy
    [confirmation] = to_address(smtp_sink, USER)
    assert "#1" in body_text(confirmation.message)
    assert "[#1]" in confirmation.message["Subject"]
    [copy] = to_address(smtp_sink, STAFF_ADDRESS)
    assert copy.message["Subject"].startswith("[#1]")

    await api.send_text(STAFF_ID, "Kelas sudah kami buat.", chat=STAFF_GROUP, reply_to=card)
    await eventually(lambda: _async_count_to(smtp_sink, USER, 2), timeout=20)
    answer = to_address(smtp_sink, USER)[1].message
    assert "Kelas sudah kami buat." in body_text(answer)
    assert "[#1]" in answer["Subject"] and answer["Subject"].startswith("Re: ")
    assert answer["In-Reply-To"] == confirmation.message["Message-ID"]
    assert answer["Auto-Submitted"] is None  # a person wrote it
    rows = await helpdesk.report()
    out = [r for r in rows if r.direction == "out" and r.channel == "email" and r.ticket_id == 1]
    assert any(r.handled_by == "Staf Ayu" for r in out)


async def test_a_staff_photo_reaches_an_email_user_as_an_attachment(
    api: FakeBotApi, helpdesk: RunningHelpdesk, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:  # fmt: skip
    raw, _mid = make_mail(f"Wayan <{USER}>", "Kelas mitra", HANDOVER)
    await append(dovecot_server, raw)
    [card] = await api.wait_for_messages(STAFF_GROUP, 1, timeout=20)
    await smtp_sink.wait_for(2, timeout=20)  # the user's confirmation and the staff copy

    screenshot = b"\xff\xd8\xff" + bytes(range(256)) * 20
    await api.send_photo(
        STAFF_ID, screenshot, caption="Ikuti langkah di gambar ini.", chat=STAFF_GROUP,
        reply_to=card,
    )  # fmt: skip
    await eventually(lambda: _async_count_to(smtp_sink, USER, 2), timeout=20)
    answer = to_address(smtp_sink, USER)[1].message
    assert "Ikuti langkah di gambar ini." in body_text(answer)
    [picture] = list(answer.iter_attachments())
    assert picture.get_filename() == "lampiran-1.jpg" and picture.get_content() == screenshot

    # Without a caption the photo still goes, with a line saying a file is attached.
    await api.send_photo(STAFF_ID, b"\xff\xd8\xff kedua", chat=STAFF_GROUP, reply_to=card)
    await eventually(lambda: _async_count_to(smtp_sink, USER, 3), timeout=20)
    second = to_address(smtp_sink, USER)[2].message
    assert "(berkas terlampir)" in body_text(second)
    assert [a.get_content() for a in second.iter_attachments()] == [b"\xff\xd8\xff kedua"]


async def test_a_telegram_users_photo_is_attached_to_the_staff_copy(
    api: FakeBotApi, helpdesk: RunningHelpdesk, smtp_sink: SmtpSink
) -> None:
    photo = b"\xff\xd8\xff layar error" * 50
    await api.send_photo(STUDENT_ID, photo, caption="Muncul error ini saat login")
    # The staff group gets the card and the photo itself, copied.
    await api.wait_for_messages(STAFF_GROUP, 2, timeout=20)
    assert any("photo" in m.message for m in api.messages_to(STAFF_GROUP))
    await eventually(lambda: _async_count_to(smtp_sink, STAFF_ADDRESS, 1), timeout=20)
    [copy] = to_address(smtp_sink, STAFF_ADDRESS)
    [attached] = list(copy.message.iter_attachments())
    assert attached.get_filename() == "lampiran-1.jpg" and attached.get_content() == photo


async def test_telegram_ticket_answered_from_email(
    api: FakeBotApi, helpdesk: RunningHelpdesk, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:  # fmt: skip
    await api.send_text(STUDENT_ID, "/staf Berapa biaya UKT semester ini?")
    await api.wait_for_messages(STAFF_GROUP, 1, timeout=20)
    [copy] = await smtp_sink.wait_for(1, timeout=20)
    assert copy.rcpt_tos == [STAFF_ADDRESS]
    assert "Berapa biaya UKT" in body_text(copy.message)

    reply, _ = make_mail(
        f"Staf Komang <{STAFF_ADDRESS}>",
        f"Re: {copy.message['Subject']}",
        "Silakan tanyakan ke bagian keuangan.\n\nOn Fri, Staf wrote:\n> Berapa biaya UKT\n",
        headers={"In-Reply-To": copy.message["Message-ID"]},
    )
    await append(dovecot_server, reply)

    messages = await api.wait_for_messages(STUDENT_ID, 2, timeout=20)
    assert "Silakan tanyakan ke bagian keuangan." in messages[-1].text
    assert "Berapa biaya UKT" not in messages[-1].text  # the quote is not sent on
    rows = await helpdesk.report()
    staff_rows = [r for r in rows if r.outcome == "staff_reply"]
    assert [r.channel for r in staff_rows] == ["email"]
    assert staff_rows[0].handled_by == "Staf Komang"
    [ticket] = await helpdesk.tickets()
    assert ticket.first_response_at is not None and ticket.channel == "telegram"


def _count_to(sink: SmtpSink, address: str, count: int) -> bool:
    return len(to_address(sink, address)) >= count


async def _async_count_to(sink: SmtpSink, address: str, count: int) -> bool:
    return _count_to(sink, address, count)


# Each must get no automatic reply; the last column: whether staff get it as a ticket.
LOOP_CASES = [
    ("auto@client.example", {"Auto-Submitted": "auto-generated"}, False),
    ("auto2@client.example", {"Auto-Submitted": "auto-replied; owner-email=x@y.z"}, False),
    ("bulk@client.example", {"Precedence": "bulk"}, False),
    ("junk@client.example", {"Precedence": "junk"}, False),
    ("list@client.example", {"Precedence": "list"}, False),
    ("listid@client.example", {"List-Id": "<dosen.unr.example>"}, False),
    ("unsub@client.example", {"List-Unsubscribe": "<mailto:leave@client.example>"}, False),
    ("person@client.example", {"Return-Path": "<>"}, True),
    ("MAILER-DAEMON@mx.client.example", {}, False),  # read as a bounce
    ("postmaster@client.example", {}, False),  # read as a bounce
    ("postmaster@client.example", {"Return-Path": "<postmaster@client.example>"}, True),
    ("no-reply@lms.client.example", {}, True),
    ("noreply@lms.client.example", {}, True),
    ("helpdesk@example.test", {}, False),  # our own address
]
CONTROL = "kontrol@client.example"


async def test_loop_and_noise_get_no_automatic_reply(
    helpdesk: RunningHelpdesk, dovecot_server: DovecotServer, smtp_sink: SmtpSink
) -> None:
    for sender, headers, _ in LOOP_CASES:
        raw, _ = make_mail(sender, "Lupa password", QUESTION, headers=headers)
        await append(dovecot_server, raw)
    report, _ = make_mail("reporter@client.example", "Delivery report", "", headers={})
    report = report.replace(b"Content-Type: text/plain", b"Content-Type: multipart/report", 1)
    await append(dovecot_server, report)
    raw, _ = make_mail(CONTROL, "Lupa password", QUESTION)
    await append(dovecot_server, raw)

    await eventually(lambda: _async_count_to(smtp_sink, CONTROL, 1), timeout=30)
    await eventually(lambda: _handled(helpdesk, len(LOOP_CASES) + 2), timeout=30)
    for sender, _, _ in LOOP_CASES:
        assert to_address(smtp_sink, sender.lower()) == [], sender
    assert to_address(smtp_sink, "reporter@client.example") == []
    rows = await helpdesk.report()
    incoming = [r for r in rows if r.channel == "email" and r.direction == "in"]
    assert len(incoming) == len(LOOP_CASES) + 2  # every one logged
    tickets = await helpdesk.tickets()
    expected = {s.lower() for s, _, to_staff in LOOP_CASES if to_staff}
    assert {t.chat_id for t in tickets} == expected
    await eventually(lambda: _async_count_to(smtp_sink, STAFF_ADDRESS, len(expected)))


async def test_automatic_replies_per_sender_are_limited(
    helpdesk: RunningHelpdesk, dovecot_server: DovecotServer, smtp_sink: SmtpSink
) -> None:
    for number in range(7):
        raw, _ = make_mail(f"Wayan <{USER}>", f"Pertanyaan {number}", QUESTION)
        await append(dovecot_server, raw)

    await eventually(lambda: _handled(helpdesk, 7), timeout=30)
    await eventually(lambda: _async_count_to(smtp_sink, STAFF_ADDRESS, 2), timeout=20)
    await eventually(lambda: _outbox_empty(helpdesk), timeout=20)
    assert len(to_address(smtp_sink, USER)) == 5  # mail.auto_reply_limit
    rows = await helpdesk.report()
    incoming = [r for r in rows if r.channel == "email" and r.direction == "in"]
    assert len(incoming) == 7
    [ticket] = await helpdesk.tickets()  # the sixth opened it, the seventh was added to it
    assert ticket.chat_id == USER
    assert [r.outcome for r in incoming][-2:] == ["escalated_quietly", "forwarded_quietly"]


async def _handled(helpdesk: RunningHelpdesk, count: int) -> bool:
    async def load(session: Any) -> int:
        query = select(func.count()).where(
            InboundUpdate.channel == "email", InboundUpdate.status == "done"
        )
        return int(await session.scalar(query) or 0)

    done: int = await helpdesk.query(load)
    return done >= count


async def _outbox_empty(helpdesk: RunningHelpdesk) -> bool:
    async def load(session: Any) -> int:
        return await queues.count_pending_outbox(session)

    pending: int = await helpdesk.query(load)
    return pending == 0


async def test_every_shared_mail_case_through_the_running_channel(
    helpdesk: RunningHelpdesk, dovecot_server: DovecotServer, smtp_sink: SmtpSink
) -> None:
    # Two tickets first, so the out-of-office (C23a) and the bounce (C24) refer to our mail.
    ours = {}
    for address in ("customer5@example.org", "customer9@example.org"):
        raw, _ = make_mail(address, "Biaya", HANDOVER)
        await append(dovecot_server, raw)
        await eventually(lambda a=address: _async_count_to(smtp_sink, a, 1), timeout=20)  # type: ignore[misc]
        ours[address] = to_address(smtp_sink, address)[0].message["Message-ID"].strip("<>")
    cases = {
        path.name: path.read_bytes() for path in sorted(shared_path("cases", "mail").glob("*.eml"))
    }
    cases["C23a_out_of_office.eml"] = cases["C23a_out_of_office.eml"].replace(
        b"ack-1042@example.com", ours["customer5@example.org"].encode()
    )
    cases["C24_dsn_nested_alternative.eml"] = cases["C24_dsn_nested_alternative.eml"].replace(
        b"ack-1044@example.com", ours["customer9@example.org"].encode()
    )
    for raw in cases.values():
        await append(dovecot_server, raw)
    await append(dovecot_server, cases["C21_no_message_id.eml"])  # the same bytes again

    await eventually(lambda: _handled(helpdesk, 2 + len(cases)), timeout=30)
    await eventually(lambda: _outbox_empty(helpdesk), timeout=20)
    rows = await helpdesk.report()
    texts = "\n".join(r.text for r in rows)
    assert "\ufffd" not in texts and "\x00" not in texts

    # C13: processed, subject kept raw; C14: the real address found, no junk person.
    assert to_address(smtp_sink, "customer2@example.org")
    identities = await _identities(helpdesk)
    assert "help@vendor.example" in identities
    assert not [i for i in identities if "?=" in i or "mailer.vendor" in i]
    # C15, C16: charsets; C18: HTML-only; C26: NUL removed, the literal 0x00 kept.
    assert "Merci, café froid" in texts and "The café printer — still broken" in texts
    assert "My VPN is down since 08:00." in texts and "alert(1)" not in texts
    assert "Tray 2 reports error 0x00 after reboot." in texts
    # C17, C24: bounces make no ticket and get no reply; C24 notes its ticket, marks the address.
    assert not [m for m in smtp_sink.messages if "mailer-daemon" in m.rcpt_tos[0].lower()]
    tickets = await helpdesk.tickets()
    assert not [t for t in tickets if "mailer-daemon" in t.chat_id.lower()]
    [ticket9] = [t for t in tickets if t.chat_id == "customer9@example.org"]
    assert [r.outcome for r in rows if r.ticket_id == ticket9.id][-1] == "bounce_note"
    assert identities["customer9@example.org"] is not None  # unreachable since
    # C21: once, however often the same bytes come; our reply has its own Message-ID.
    assert await _stored_count(helpdesk) == 2 + len(cases)
    [scanner_reply] = to_address(smtp_sink, "scanner@office.example.org")[:1]
    assert scanner_reply.message["Message-ID"]
    assert scanner_reply.message["In-Reply-To"] is None  # it had no Message-ID to name
    # C23a: no reply to the out-of-office, a note on its ticket, which stays as it was.
    replied_to = {m.message["In-Reply-To"] for m in smtp_sink.messages}
    assert "<c23a-ooo@example.org>" not in replied_to and "<c18@example.org>" in replied_to
    [ticket5] = [t for t in tickets if t.chat_id == "customer5@example.org"]
    assert ticket5.status == "open"
    assert "auto_reply_note" in [r.outcome for r in rows if r.ticket_id == ticket5.id]


async def _identities(helpdesk: RunningHelpdesk) -> dict[str, Any]:
    async def load(session: Any) -> dict[str, Any]:
        rows = await session.scalars(select(Identity).where(Identity.channel == "email"))
        return {i.external_id: i.unreachable_at for i in rows}

    found: dict[str, Any] = await helpdesk.query(load)
    return found


async def _stored_count(helpdesk: RunningHelpdesk) -> int:
    async def load(session: Any) -> int:
        query = select(func.count()).where(InboundUpdate.channel == "email")
        return int(await session.scalar(query) or 0)

    count: int = await helpdesk.query(load)
    return count


async def test_attachments_kept_up_to_the_size_limit_and_forwarded_to_staff(
    api: FakeBotApi, database_url: str, tmp_path: Path, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:  # fmt: skip
    settings = mail_settings(
        api, database_url, dovecot_server, smtp_sink, state_dir=tmp_path,
        max_attachment_bytes=100,
    )  # fmt: skip
    message = EmailMessage()
    message["From"] = f"Wayan <{USER}>"
    message["To"] = "helpdesk@example.test"
    message["Subject"] = "Bukti error"
    message["Message-ID"] = "<att-1@client.example>"
    message.set_content("Terlampir tangkapan layar error saat login.")
    message.add_attachment(b"x" * 50, maintype="image", subtype="png", filename="layar.png")
    message.add_attachment(b"y" * 500, maintype="application", subtype="pdf", filename="log.pdf")
    running = RunningHelpdesk(settings)
    await running.start()
    try:
        await append(dovecot_server, message.as_bytes())
        # Files always go to staff: the card, each kept file as a document, then the names
        # of those that did not come along.
        card, forwarded, left_out = await api.wait_for_messages(STAFF_GROUP, 3, timeout=20)
        await smtp_sink.wait_for(2, timeout=20)  # the ticket's number to Wayan, the staff copy
        [copy] = to_address(smtp_sink, STAFF_ADDRESS)
        rows = await running.report()
    finally:
        await running.stop()
    assert "Tiket #1" in card.text
    document = forwarded.message["document"]
    assert forwarded.method == "sendDocument" and "layar.png" in forwarded.text
    # Sent under a generated name, with the bytes kept in the stored raw mail.
    assert document["file_name"] == "lampiran-1.png"
    assert api.files[document["file_id"]].data == b"x" * 50
    assert "Tidak diteruskan" in left_out.text and "log.pdf" in left_out.text  # over the limit
    assert "Tidak diteruskan" in body_text(copy.message) and "log.pdf" in body_text(copy.message)
    [attached] = list(copy.message.iter_attachments())
    assert attached.get_filename() == "lampiran-1.png"
    assert attached.get_content() == b"x" * 50
    [incoming] = [r for r in rows if r.direction == "in" and r.channel == "email"]
    assert incoming.attachments is not None
    files = {f["name"]: f for f in incoming.attachments["files"]}
    assert files["layar.png"]["size"] == 50 and files["layar.png"]["mime_type"] == "image/png"
    assert files["layar.png"]["ref"] == "email:att-1@client.example#0"  # kept, in the raw mail
    assert files["log.pdf"]["size"] == 500 and files["log.pdf"]["ref"] == ""  # listed only
    [ticket] = await running.tickets()
    assert ticket.chat_id == USER


async def test_a_reply_by_email_from_someone_not_staff_reaches_nobody_and_is_logged(
    api: FakeBotApi, helpdesk: RunningHelpdesk, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # The email row of the staff powers (tests/e2e/test_security.py): answering a ticket.
    # A forwarded staff copy (its Message-ID quoted) and a typed subject tag are both tried.
    await api.send_text(STUDENT_ID, "/staf Berapa biaya UKT semester ini?")
    await api.wait_for_messages(STAFF_GROUP, 1, timeout=20)
    [copy] = await smtp_sink.wait_for(1, timeout=20)
    to_student = len(api.messages_to(STUDENT_ID))
    [ticket] = await helpdesk.tickets()
    intruder = "iseng@luar.example"
    forwarded, _ = make_mail(
        f"Orang Luar <{intruder}>",
        f"Re: {copy.message['Subject']}",
        "Biayanya gratis, tidak usah bayar.",
        headers={"In-Reply-To": copy.message["Message-ID"]},
    )
    tagged, _ = make_mail(intruder, f"Re: [#{ticket.id}]", "Tiket ini sudah selesai.")
    for raw in (forwarded, tagged):
        await append(dovecot_server, raw)

    # Each gets its own answer (a ticket of the sender's own at staff) and nothing else.
    await eventually(lambda: _async_count_to(smtp_sink, intruder, 2), timeout=30)
    assert len(api.messages_to(STUDENT_ID)) == to_student
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert len(refusals) == 2 and all(intruder in m for m in refusals), refusals
    assert all(f"ticket #{ticket.id}," in m for m in refusals), refusals
    rows = await helpdesk.report()
    assert not [r for r in rows if r.outcome == "staff_reply"]
    still = [t for t in await helpdesk.tickets() if t.id == ticket.id]
    assert still[0].status == ticket.status and still[0].first_response_at is None
