"""The running service with its email channel against Dovecot and an aiosmtpd sink."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from helpdesk.settings import Settings
from helpdesk.settings_mail import ImapSettings, MailSettings, SmtpSettings
from storage.types import utcnow
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import settings_for
from tests.mailservers import CapturedMessage, DovecotServer, SmtpSink

STAFF_ADDRESS = "staf.layanan@unr.example"


def mail_settings(
    api: FakeBotApi,
    database_url: str,
    dovecot: DovecotServer,
    sink: SmtpSink,
    *,
    state_dir: Path,
    delivery: str = "inline",
    **mail: Any,
) -> Settings:
    """The e2e settings plus IMAP on Dovecot, SMTP into the sink, short waits for tests."""
    base = settings_for(api, database_url, state_dir=state_dir, delivery=delivery)  # type: ignore[arg-type]
    return base.model_copy(
        update={
            "imap": ImapSettings(
                host=dovecot.host,
                port=dovecot.port,
                username=dovecot.user,
                password=dovecot.password,  # type: ignore[arg-type]
                security="none",
                idle_renew=5,
                timeout=5,
            ),
            "smtp": SmtpSettings(host=sink.host, port=sink.port, security="none", timeout=5),
            "mail": MailSettings(address=dovecot.user, staff_addresses=[STAFF_ADDRESS], **mail),
        }
    )


def make_mail(
    sender: str,
    subject: str,
    body: str,
    *,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    to: str = "helpdesk@example.test",
) -> tuple[bytes, str]:
    """A plain mail as a user's client would write it, and its Message-ID (no brackets)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    mid = message_id or make_msgid(domain="client.example").strip("<>")
    message["Message-ID"] = f"<{mid}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes().replace(b"\n", b"\r\n"), mid


def to_address(sink: SmtpSink, address: str) -> list[CapturedMessage]:
    """What the sink received for one recipient."""
    return [m for m in sink.messages if address in m.rcpt_tos]


async def append(dovecot: DovecotServer, raw: bytes) -> int:
    """APPEND as another client would deliver (blocking imaplib, off the loop)."""
    return await asyncio.to_thread(dovecot.append, raw)


def body_text(message: EmailMessage, kind: str = "plain") -> str:
    """The text/plain (or text/html) alternative of a message."""
    part = message.get_body((kind,))
    assert part is not None, f"no text/{kind} part"
    return str(part.get_content())
