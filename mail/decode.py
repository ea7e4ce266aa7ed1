"""Stored email (raw bytes from IMAP) to the helpdesk's channel-independent `Inbound`."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from typing import Any

from handlers.intake import UnreadableInput
from handlers.messages import Attachment, Channel, Inbound, MailInfo, Sender
from mail.classify import classify
from mail.parsing import MailAttachment, ParsedMail, parse_message

logger = logging.getLogger(__name__)


def stored_payload(raw: bytes, *, uid: int, uidvalidity: int, mailbox: str) -> dict[str, Any]:
    """The `inbound_updates` payload of one fetched message: raw bytes, kept whole."""
    return {
        "raw": base64.b64encode(raw).decode("ascii"),
        "uid": uid,
        "uidvalidity": uidvalidity,
        "mailbox": mailbox,
    }


def raw_of(payload: dict[str, Any]) -> bytes:
    """The raw message of a stored payload."""
    try:
        return base64.b64decode(payload["raw"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise UnreadableInput(f"stored email payload has no raw message: {exc}") from exc


class EmailDecoder:
    """Parses and classifies a stored message; never raises on bad mail (C13-C26)."""

    def __init__(self, own_addresses: Iterable[str], *, max_attachment_bytes: int) -> None:
        self.own = tuple(a.lower() for a in own_addresses)
        self.max_attachment_bytes = max_attachment_bytes

    def __call__(self, payload: dict[str, Any]) -> Inbound:
        parsed = parse_message(raw_of(payload), max_attachment_bytes=self.max_attachment_bytes)
        return to_inbound(parsed, self.own)


def to_inbound(parsed: ParsedMail, own: Iterable[str]) -> Inbound:
    """The `Inbound` for one parsed message."""
    verdict = classify(parsed, own_addresses=own)
    address = parsed.from_address
    references = tuple(dict.fromkeys([*parsed.references, *_given(parsed.in_reply_to)]))
    info = MailInfo(
        kind=verdict.kind,
        may_auto_reply=verdict.may_auto_reply,
        reason=verdict.reason,
        address=address,
        message_id=parsed.message_id or parsed.dedup_key,
        references=references,
        report_recipients=parsed.report_recipients,
        report_original_id=parsed.report_original_message_id,
        parse_error=parsed.parse_error,
    )
    if parsed.parse_error:
        logger.warning("email %s could not be parsed: %s", info.message_id, parsed.parse_error)
    text = (parsed.new_text or parsed.text).strip()
    return Inbound(
        channel=Channel.EMAIL,
        sender=Sender(external_id=address or "", display_name=parsed.from_name or address or ""),
        chat_id=parsed.reply_to_address or address or "",
        text=text,
        subject=parsed.subject,
        message_ref=info.message_id,
        reply_to_ref=parsed.in_reply_to,
        attachments=tuple(
            _attachment(info.message_id, i, a) for i, a in enumerate(parsed.attachments)
        ),
        note="email" if not text else None,
        mail=info,
    )


def _given(value: str | None) -> list[str]:
    return [value] if value else []


def _attachment(message_id: str, index: int, part: MailAttachment) -> Attachment:
    # The file stays inside the raw message kept in inbound_updates; `ref` points there.
    # An empty ref means it was over mail.max_attachment_bytes and is only listed.
    kept = part.content is not None
    return Attachment(
        kind="photo" if part.content_type.startswith("image/") else "document",
        ref=f"email:{message_id}#{index}" if kept else "",
        name=part.filename,
        mime_type=part.content_type,
        size=part.size,
    )
