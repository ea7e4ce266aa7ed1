"""Stored email (raw bytes from IMAP) to the helpdesk's channel-independent `Inbound`."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from handlers.intake import UnreadableInput
from handlers.messages import Attachment, Channel, Inbound, MailInfo, Sender
from mail.classify import classify
from mail.imapwire import storage_key
from mail.parsing import MailAttachment, ParsedMail, parse_message

logger = logging.getLogger(__name__)

HEAD_BYTES = 1024 * 1024


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

    def __init__(
        self,
        own_addresses: Iterable[str],
        *,
        max_attachment_bytes: int,
        max_text_chars: int = 20_000,
    ) -> None:
        self.own = tuple(a.lower() for a in own_addresses)
        self.max_attachment_bytes = max_attachment_bytes
        # The same limit the helpdesk refuses longer messages at: a body cut here is
        # marked, and refused there, rather than answered from its first part.
        self.max_text_chars = max_text_chars

    def __call__(self, payload: dict[str, Any]) -> Inbound:
        raw = raw_of(payload)
        # The email package holds several copies of what it parses (about 9x a message
        # with a 20 MB attachment): a message far over the attachment limit is parsed from
        # its head only (headers and the text that comes first) and refused by its size.
        oversized = len(raw) > 2 * self.max_attachment_bytes + HEAD_BYTES
        parsed = parse_message(
            raw[:HEAD_BYTES] if oversized else raw,
            max_text_chars=self.max_text_chars,
            max_attachment_bytes=self.max_attachment_bytes,
        )
        inbound = to_inbound(parsed, self.own, stored_key=storage_key(raw))
        if not oversized:
            return inbound
        logger.info("email %s of %s bytes parsed from its head", inbound.message_ref, len(raw))
        # What the head holds of its files is cut short: listed only, like any file over
        # the limit, beside the whole message's size.
        cut = tuple(replace(a, ref="") for a in inbound.attachments)
        whole = Attachment(kind="document", ref="", mime_type="message/rfc822", size=len(raw))
        return replace(inbound, attachments=(*cut, whole))


def to_inbound(
    parsed: ParsedMail, own: Iterable[str], *, stored_key: str | None = None
) -> Inbound:
    """The `Inbound` for one parsed message.

    `stored_key`: the message's key in `inbound_updates`, which attachment refs name. It is
    the Message-ID too, except for an id the intake's key cannot hold (over 300 characters).
    """
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
        text_truncated=parsed.text_truncated,
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
            _attachment(stored_key or info.message_id, i, a)
            for i, a in enumerate(parsed.attachments)
        ),
        note="email" if not text else None,
        mail=info,
    )


def _given(value: str | None) -> list[str]:
    return [value] if value else []


def _attachment(key: str, index: int, part: MailAttachment) -> Attachment:
    # The file stays inside the raw message kept in inbound_updates; `ref` points there.
    # An empty ref means it was over mail.max_attachment_bytes and is only listed.
    kept = part.content is not None
    return Attachment(
        kind="photo" if part.content_type.startswith("image/") else "document",
        ref=f"email:{key}#{index}" if kept else "",
        name=part.filename,
        mime_type=part.content_type,
        size=part.size,
    )
