"""Arbitrary raw emails (hypothesis) through the email decoder and the whole intake path.

Bytes of any kind, broken MIME, huge headers, odd or unknown charsets, NUL and lone CR/LF:
no input may raise out of the processor or stay pending. Each is handled, or set aside as
failed with its reason and a notice queued for staff. The number of generated inputs is
printed (run with -s); HELPDESK_TEST_HYPOTHESIS_EXAMPLES raises it for a longer run.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from handlers.config import EmailRules, HelpdeskConfig
from handlers.intake import InboundProcessor, UnreadableInput
from handlers.knowledge import KnowledgeBase
from handlers.matching import Matcher
from handlers.service import Helpdesk
from mail.decode import EmailDecoder, stored_payload
from mail.imapwire import storage_key
from storage import queues
from storage.database import create_engine, session_factory
from storage.models import InboundUpdate, OutboxMessage

EXAMPLES = int(os.environ.get("HELPDESK_TEST_HYPOTHESIS_EXAMPLES", "150"))
STAFF_CHAT = "-100500"
OURS = "helpdesk@unr.example"
MAX_ATTACHMENT = 2000
HEADERS = [
    "From", "To", "Cc", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References",
    "Date", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    "Content-Disposition", "Auto-Submitted", "Precedence", "List-Id", "X-Autoreply",
    "Return-Path", "Received", "X-Failed-Recipients",
]  # fmt: skip
WORDS = [
    "dewi@client.example", "Dewi <dewi@client.example>", "<>", "<@>", "a@", "@b", OURS,
    "=?utf-8?B?RGV3aSDwn5Ks?= <d@c.example>", "=?x-unknown?Q?=FF=FE?=", "=?utf-7?B?+AGQ-?=",
    "=?iso-2022-jp?B?GyRCJEskWxsoQg==?=", "=?utf-8?Q?broken", "=?gb18030?B?////?=",
    "text/plain; charset=klingon", "text/plain; charset=\"utf-8", "text/html; charset=utf-16",
    "multipart/mixed", "multipart/mixed; boundary=", "multipart/mixed; boundary=\"b\"",
    "multipart/report; report-type=delivery-status; boundary=b", "message/rfc822",
    "message/delivery-status", "application/pdf; name=\"../../etc/passwd\"",
    "image/png", "base64", "quoted-printable", "x-uuencode", "8bit", "7bit",
    "attachment; filename=\"a\r\nBcc: x@evil.example\"", "auto-replied", "bulk", "1.0",
    "Mon, 99 Foo 2026 25:61:00 +9999", "[#1]", "Re: [#99999999999] tiket", "\x00",
    "\ud800", "💬" * 5, "lupa password e-learning", "<b>tebal</b> & <script>", "9" * 400,
]  # fmt: skip
BODY_BITS = [
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhalo\r\n--b--\r\n",
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!==\r\n",
    b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.b64encode(b"%PDF" * 1000)
    + b"\r\n",
    b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: <x@y>\r\nSubject: inner\r\n\r\nisi\r\n",
    b"=\r\n=ZZ=F0=9F=92=AC soft=\r\nbreak",
    b"begin 644 a.txt\r\n#86)C\r\n`\r\nend\r\n",
    b"\x00\x00\xff\xfe\xfd",
    b"\r\n.\r\n",
    b"--b",
    b"\xe9t\xe9 latin-1 \xc3\x28 broken utf-8",
]

header_values = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=60),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
)
# A huge header (folded or not): the kind a broken mailer or an attacker writes.
huge = st.builds(
    lambda name, size, fold: f"{name}: " + ("x" * 70 + ("\r\n " if fold else "")) * size,
    st.sampled_from(["Subject", "References", "X-Junk", "To"]),
    st.integers(100, 3000),
    st.booleans(),
)
header_lines = st.one_of(
    st.builds(lambda n, v: f"{n}: {v}", st.sampled_from(HEADERS), header_values),
    st.builds(lambda n, v: f"{n}:{v}", st.text(max_size=20), st.text(max_size=40)),
    huge,
    st.just("no colon here"),
    st.just(" continuation without a header"),
)
encodings = st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252"])
newlines = st.sampled_from([b"\r\n", b"\n", b"\r"])


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="surrogatepass" if encoding == "utf-8" else "replace")


@st.composite
def shaped(draw: st.DrawFn) -> bytes:
    """Headers and a body shaped like mail, every part possibly wrong."""
    eol = draw(newlines)
    encoding = draw(encodings)
    lines = draw(st.lists(header_lines, max_size=8))
    if draw(st.booleans()):
        lines.insert(0, "From: " + draw(st.sampled_from(WORDS[:8])))
    head = eol.join(_encode(line, encoding) for line in lines)
    body = b"".join(draw(st.lists(st.sampled_from(BODY_BITS), max_size=4)))
    body += _encode(draw(st.text(max_size=300)), encoding)
    return head + eol + eol + body


raw_emails = st.one_of(st.binary(max_size=3000), shaped())
# Generated inputs and what became of them, for the report.
tried = {"decoder": 0, "intake": 0, "batches": 0, "done": 0, "failed": 0, "answered": 0}
uids = itertools.count(1)
decoder = EmailDecoder([OURS], max_attachment_bytes=MAX_ATTACHMENT)


def _payload(raw: bytes) -> dict[str, Any]:
    return stored_payload(raw, uid=next(uids), uidvalidity=1, mailbox="INBOX")


@given(raw_emails)
@settings(max_examples=EXAMPLES * 4, deadline=None)
def test_email_decoder_returns_or_refuses_readably(raw: bytes) -> None:
    tried["decoder"] += 1
    with contextlib.suppress(UnreadableInput):  # set aside at once, with this reason
        inbound = decoder(_payload(raw))
        assert inbound.mail is not None
        assert all(a.size is None or a.size >= 0 for a in inbound.attachments)


@pytest.fixture(scope="module")
def helpdesk() -> Helpdesk:
    kb = KnowledgeBase.load()
    config = HelpdeskConfig(
        staff_ids={"telegram": frozenset({"900"}), "email": frozenset({"staf@unr.example"})},
        staff_chat=("telegram", STAFF_CHAT),
        email=EmailRules(address=OURS, staff_addresses=("staf@unr.example",)),
    )
    return Helpdesk(config, kb, Matcher(kb))


async def _through_the_intake(url: str, helpdesk: Helpdesk, batch: list[bytes]) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        # Keyed as the IMAP intake keys them; a repeat within the batch is stored once.
        items = dict((storage_key(raw), _payload(raw)) for raw in batch)
        async with sessions.begin() as session:
            await queues.store_inbound(session, "email", list(items.items()))
        processor = InboundProcessor(sessions, helpdesk, {"email": decoder}, max_attempts=3)
        for _ in range(4):  # enough rounds for a failing input to use up its attempts
            await processor.process_pending()

        async with sessions() as session:
            rows = (
                await session.scalars(
                    select(InboundUpdate).where(InboundUpdate.external_id.in_(list(items)))
                )
            ).all()
            failed = int(
                await session.scalar(select(func.count()).where(InboundUpdate.status == "failed"))
                or 0
            )
            answered = int(
                await session.scalar(select(func.count()).where(OutboxMessage.channel == "email"))
                or 0
            )
            notices = int(
                await session.scalar(
                    select(func.count()).where(
                        OutboxMessage.chat_id == STAFF_CHAT,
                        OutboxMessage.payload["html"].as_string().contains("gagal diproses"),
                    )
                )
                or 0
            )
    finally:
        await engine.dispose()
    assert len(rows) == len(items)
    for row in rows:
        assert row.status in ("done", "failed"), (row.status, row.error)
        tried[row.status] += 1
        if row.status == "failed":
            assert row.error
    tried["answered"] = answered  # the database is shared by the examples: a running total
    assert notices == failed  # every input set aside was shown to staff


@pytest.mark.db
def test_arbitrary_raw_emails_are_handled_or_set_aside_and_shown_to_staff(
    database_url: str, helpdesk: Helpdesk
) -> None:
    @given(st.lists(raw_emails, min_size=1, max_size=3))
    @example([b""])
    @example([b"\x00" * 100])
    @example([b"From: Dewi <dewi@client.example>\r\nSubject: a\x00b\r\n\r\nhalo\x00 password"])
    @example([b"From: d@c.example\r\nSubject: " + b"x" * 200_000 + b"\r\n\r\nhalo"])
    @example(
        [
            b"From: d@c.example\r\nContent-Type: text/plain; charset=klingon\r\n\r\n\xff\xfe",
            b"From: d@c.example\r\nContent-Type: multipart/mixed\r\n\r\n--\r\nno boundary",
        ]
    )
    @example([b"From: =?x-unknown?B?////?= <d@c.example>\r\nSubject: =?utf-8?Q?=FF?=\r\n\r\nx"])
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(batch: list[bytes]) -> None:
        tried["intake"] += len(batch)
        tried["batches"] += 1
        asyncio.run(_through_the_intake(database_url, helpdesk, batch))

    check()
    print(
        f"generated inputs: {tried['intake']} raw emails in {tried['batches']} batches "
        f"through the intake ({tried['done']} stored rows handled, {tried['failed']} set aside "
        f"as failed, {tried['answered']} email replies queued in all); {tried['decoder']} "
        "through the email decoder alone (this session)"
    )


@pytest.mark.db
async def test_a_damaged_stored_email_is_set_aside_with_its_reason_and_shown_to_staff(
    database_url: str, helpdesk: Helpdesk
) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            await queues.store_inbound(session, "email", [("<damaged@x>", {"raw": "!!not64"})])
        await InboundProcessor(sessions, helpdesk, {"email": decoder}).process_pending()
        async with sessions() as session:
            row = await session.scalar(select(InboundUpdate))
            notices = (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.chat_id == STAFF_CHAT)
                )
            ).all()
    finally:
        await engine.dispose()
    assert row is not None and row.status == "failed"
    assert row.error and "no raw message" in row.error
    [notice] = notices
    assert (
        "gagal diproses" in notice.payload["html"] and "no raw message" in notice.payload["html"]
    )


@pytest.mark.db
async def test_screened_mail_from_a_new_address_creates_no_person(
    database_url: str, helpdesk: Helpdesk
) -> None:
    # Senders of a batch are created together before handling; mail is left out of that,
    # since a bounce or our own mail is screened before a person would be made for it.
    from storage.models import Identity

    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@other.example>\r\nTo: "
        + OURS.encode()
        + b"\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied"
        b"\r\nMessage-ID: <bounce-1@other.example>\r\n\r\nThe mail could not be delivered.\r\n"
    )
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            await queues.store_inbound(session, "email", [(storage_key(raw), _payload(raw))])
        processor = InboundProcessor(sessions, helpdesk, {"email": decoder})
        assert await processor.process_pending() == 1
        async with sessions() as session:
            identities = (await session.scalars(select(Identity))).all()
            row = await session.scalar(select(InboundUpdate))
    finally:
        await engine.dispose()
    assert identities == []
    assert row is not None and row.status == "done"
