"""Delivery reports (bounces): which addresses failed, and which of our messages they concern."""

from __future__ import annotations

import email.parser
import re
from dataclasses import dataclass
from email import policy
from email.message import Message

from mail.addresses import ADDRESS, ADDRESS_PATTERN, sender_is_daemon
from mail.mimeparts import (
    child_parts,
    decode_bytes,
    extract_id,
    part_type,
    payload_bytes,
    raw_headers,
    walk_parts,
)

DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADERS_TYPES = frozenset(
    {"text/rfc822-headers", "message/rfc822", "message/global", "message/global-headers"}
)
_SKIPPED_ACTIONS = frozenset({"delayed", "delivered", "relayed", "expanded"})
_BOUNCE_LINE = re.compile(rf"^\s*<({ADDRESS_PATTERN})>\s*:", re.MULTILINE)
_FINAL_RECIPIENT = re.compile(rf"^final-recipient:[^;\n]*;\s*({ADDRESS_PATTERN})", re.I | re.M)
_MESSAGE_ID_LINE = re.compile(r"^\s*message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class DeliveryReport:
    """What a mail says as a delivery report: failed recipients and our original's id."""

    is_report: bool = False
    recipients: tuple[str, ...] = ()
    original_message_id: str | None = None

    @classmethod
    def read(cls, msg: Message, text: str, sender: str | None) -> DeliveryReport:
        typed = [(part, part_type(part)) for part in walk_parts(msg)]
        is_report = typed[0][1] == "multipart/report" or any(t in DSN_TYPES for _, t in typed)
        recipients = [a for part, t in typed if t in DSN_TYPES for a in _dsn(part)]
        if not recipients and (is_report or sender_is_daemon(sender)):
            # Reports without a machine-readable part (C17) still name the address in text.
            recipients = [a.lower() for a in _BOUNCE_LINE.findall(text)]

        original = None
        if is_report:
            ids = (_embedded_id(part) for part, t in typed if t in _HEADERS_TYPES)
            original = next((i for i in ids if i), None) or _text_message_id(text)
        return cls(is_report, tuple(dict.fromkeys(recipients)), original)


def _dsn(part: Message) -> list[str]:
    """Failed recipients of a message/delivery-status part."""
    blocks = child_parts(part)
    if blocks is None:
        text = decode_bytes(payload_bytes(part), None)[0]
        return [a.lower() for a in _FINAL_RECIPIENT.findall(text)]
    found = []
    for block in blocks:
        fields = raw_headers(block)
        recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
        action = fields.get("action", "failed").strip().lower()
        match = ADDRESS.search(recipient.rpartition(";")[2])
        if match and action not in _SKIPPED_ACTIONS:
            found.append(match.group(0).lower())
    return found


def _embedded_id(part: Message) -> str | None:
    """Message-ID of the original message quoted in a report."""
    inner = child_parts(part)
    if inner is not None:
        return extract_id(raw_headers(inner[0]).get("message-id")) if inner else None
    text = decode_bytes(payload_bytes(part), None)[0]
    headers = email.parser.HeaderParser(policy=policy.compat32).parsestr(text)
    return extract_id(raw_headers(headers).get("message-id"))


def _text_message_id(text: str) -> str | None:
    match = _MESSAGE_ID_LINE.search(text)
    return match.group(1) if match else None
