"""Attachments read back from the stored raw mail for forwarding (mail.attachments)."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import mail.attachments
from mail.attachments import StoredAttachments
from mail.decode import EmailDecoder, stored_payload
from mail.imapwire import storage_key
from mail.parsing import ParsedMail, parse_message
from storage import queues
from storage.models import InboundUpdate

pytestmark = pytest.mark.db

Sessions = async_sessionmaker[AsyncSession]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def _mail(message_id: str | None) -> bytes:
    message = EmailMessage()
    message["From"] = "Wayan <wayan@student.unr.example>"
    message["To"] = "elearning@unr.example"
    message["Subject"] = "Error login"
    if message_id is not None:
        message["Message-ID"] = f"<{message_id}>"
    message.set_content("Terlampir tangkapan layar.")
    message.add_attachment(b"%PDF-1.4 log", maintype="application", subtype="pdf",
                           filename="log.pdf")  # fmt: skip
    message.add_attachment(PNG, maintype="image", subtype="png", filename="../../layar.png")
    return message.as_bytes()


async def _store(sessions: Sessions, raw: bytes) -> list[str]:
    """Store `raw` as intake does; the refs the decoder gives its attachments."""
    payload = stored_payload(raw, uid=1, uidvalidity=1, mailbox="INBOX")
    async with sessions.begin() as session:
        assert await queues.store_inbound(session, "email", [(storage_key(raw), payload)]) == 1
    decode = EmailDecoder(["elearning@unr.example"], max_attachment_bytes=1_000_000)
    return [a.ref for a in decode(payload).attachments]


async def test_an_attachment_comes_back_byte_for_byte(sessions: Sessions) -> None:
    pdf, png = await _store(sessions, _mail("att-9@client.example"))
    load = StoredAttachments(sessions)
    assert await load(png) == PNG
    assert await load(pdf) == b"%PDF-1.4 log"
    assert await load(png.replace("#1", "#2")) is None  # no third file
    assert await load("email:someone-else@client.example#0") is None


async def test_a_message_without_message_id_is_found_by_its_digest(sessions: Sessions) -> None:
    _, png = await _store(sessions, _mail(None))
    assert png.startswith("email:sha256:")
    assert await StoredAttachments(sessions)(png) == PNG


async def test_a_message_id_too_long_for_the_intake_key_is_found_by_that_key(
    sessions: Sessions,
) -> None:
    # The intake keys ids over 300 characters by a digest of the message; refs follow it.
    _, png = await _store(sessions, _mail("x" * 400 + "@client.example"))
    assert png.startswith("email:sha256:")
    assert await StoredAttachments(sessions)(png) == PNG


async def test_a_purged_message_has_no_files_left(sessions: Sessions) -> None:
    _, png = await _store(sessions, _mail("att-10@client.example"))
    async with sessions.begin() as session:
        await session.execute(update(InboundUpdate).values(payload={}))  # as the purge does
    assert await StoredAttachments(sessions)(png) is None


@pytest.mark.parametrize("ref", ["", "email:", "email:abc", "email:abc#x", "tg:abc#1"])
async def test_a_malformed_ref_is_none(sessions: Sessions, ref: str) -> None:
    assert await StoredAttachments(sessions)(ref) is None


async def test_copies_to_several_chats_parse_the_message_once(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The staff group and three staff addresses each get the same file, sent side by side:
    # one parse serves them all, where four at once held four copies of the message.
    pdf, png = await _store(sessions, _mail("empat@client.example"))
    parses: list[int] = []

    def counted(raw: bytes, **options: int) -> ParsedMail:
        parses.append(len(raw))
        return parse_message(raw, **options)

    monkeypatch.setattr(mail.attachments, "parse_message", counted)
    load = StoredAttachments(sessions)
    found = await asyncio.gather(*(load(ref) for ref in (png, png, pdf, png)))
    assert found == [PNG, PNG, b"%PDF-1.4 log", PNG]
    assert len(parses) == 1


async def test_the_files_kept_for_the_next_copy_are_let_go(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A minute in service; a twentieth of a second here.
    monkeypatch.setattr(mail.attachments, "_KEEP_SECONDS", 0.05)
    _, png = await _store(sessions, _mail("lepas@client.example"))
    load = StoredAttachments(sessions)
    assert await load(png) == PNG
    assert load._last is not None  # kept for the copies that follow
    await asyncio.sleep(0.2)
    assert load._last is None  # let go though nothing else was loaded
    assert await load(png) == PNG
