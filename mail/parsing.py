"""Raw inbound mail bytes to a ParsedMail: headers, text, attachments, report data."""

from __future__ import annotations

import email
import email.utils
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message

from mail.addresses import header_addresses, sender_of
from mail.htmltext import html_to_text
from mail.mimeparts import (
    MAX_DEPTH,
    cap_text,
    child_parts,
    clean_line,
    clean_text,
    decode_bytes,
    decode_words,
    desurrogate,
    extract_id,
    extract_ids,
    header_field,
    part_charset,
    part_type,
    payload_bytes,
    raw_headers,
    walk_parts,
)
from mail.quotes import split_reply
from mail.reports import DSN_TYPES, DeliveryReport

_TEXT_BYTES_PER_CHAR = 4  # UTF-8 needs at most four bytes a character
_HTML_BYTES_PER_CHAR = 20  # markup is mostly thrown away, so allow far more bytes
_MAX_ATTACHMENTS = 100
_MAX_DEFECTS = 50
_MAX_FILENAME_CHARS = 200


@dataclass(frozen=True)
class MailAttachment:
    """A file that came with a mail; `content` is None when it was over the size cap."""

    filename: str | None
    content_type: str
    size: int
    content: bytes | None


@dataclass(frozen=True)
class ParsedMail:
    """What the helpdesk needs from one inbound mail; text fields are safe to store."""

    dedup_key: str
    message_id: str | None = None
    from_address: str | None = None
    from_name: str | None = None
    reply_to_address: str | None = None
    to_addresses: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    text: str = ""
    text_truncated: bool = False
    new_text: str = ""
    html_converted: bool = False
    attachments: tuple[MailAttachment, ...] = ()
    auto_submitted: str | None = None
    precedence: str | None = None
    list_id: str | None = None
    list_unsubscribe: str | None = None
    return_path: str | None = None
    content_type: str = "text/plain"
    x_auto_response_suppress: str | None = None
    x_autoreply: str | None = None
    x_autorespond: str | None = None
    is_report: bool = False
    report_recipients: tuple[str, ...] = ()
    report_original_message_id: str | None = None
    parse_error: str | None = None
    defects: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Limits:
    text_chars: int
    attachment_bytes: int


def parse_message(
    raw: bytes, *, max_text_chars: int = 20_000, max_attachment_bytes: int = 10_000_000
) -> ParsedMail:
    """Parse `raw`; never raises, a hopeless message comes back with `parse_error` set."""
    key = digest_key(raw)
    limits = _Limits(max(max_text_chars, 0), max(max_attachment_bytes, 0))
    try:
        return _parse(raw, key, limits)
    except Exception as exc:  # any fault in the email package must not lose the message
        return _salvage(raw, key, limits, exc)


def digest_key(raw: bytes) -> str:
    """Dedup key of a message without Message-ID; line endings do not change it."""
    return "sha256:" + hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


def _salvage(raw: bytes, key: str, limits: _Limits, exc: Exception) -> ParsedMail:
    chunk = raw[: limits.text_chars * _TEXT_BYTES_PER_CHAR]
    text, truncated = cap_text(clean_text(decode_bytes(chunk, None)[0]), limits.text_chars)
    return ParsedMail(
        dedup_key=key,
        text=text,
        text_truncated=truncated or len(chunk) < len(raw),
        new_text=text,
        parse_error=clean_line(f"{type(exc).__name__}: {exc}"),
    )


def _parse(raw: bytes, key: str, limits: _Limits) -> ParsedMail:
    msg, notes = _message_from(raw)
    headers = raw_headers(msg)
    body = _BodyCollector(limits)
    body.collect(msg, 0)

    text, truncated = cap_text(clean_text(body.text()), limits.text_chars)
    message_id = extract_id(headers.get("message-id"))
    from_address, from_name = sender_of(msg, headers.get("from"))
    reply_to = header_addresses(msg, "reply-to", headers.get("reply-to"))
    report = DeliveryReport.read(msg, text, from_address)
    return ParsedMail(
        dedup_key=message_id or key,
        message_id=message_id,
        from_address=from_address,
        from_name=from_name,
        reply_to_address=reply_to[0] if reply_to else None,
        to_addresses=header_addresses(msg, "to", headers.get("to")),
        subject=clean_line(decode_words(headers.get("subject", ""))),
        date=_parse_date(headers.get("date")),
        in_reply_to=extract_id(headers.get("in-reply-to")),
        references=extract_ids(headers.get("references")),
        text=text,
        text_truncated=truncated or body.truncated,
        new_text=split_reply(text),
        html_converted=body.html,
        attachments=tuple(body.attachments),
        auto_submitted=header_field(headers, "auto-submitted"),
        precedence=header_field(headers, "precedence"),
        list_id=header_field(headers, "list-id"),
        list_unsubscribe=header_field(headers, "list-unsubscribe"),
        return_path=header_field(headers, "return-path"),
        content_type=part_type(msg),
        x_auto_response_suppress=header_field(headers, "x-auto-response-suppress"),
        x_autoreply=header_field(headers, "x-autoreply"),
        x_autorespond=header_field(headers, "x-autorespond"),
        is_report=report.is_report,
        report_recipients=report.recipients,
        report_original_message_id=report.original_message_id,
        defects=_defects(msg, [*notes, *body.notes]),
    )


def _message_from(raw: bytes) -> tuple[Message, list[str]]:
    try:
        return email.message_from_bytes(raw, policy=policy.default), []
    except Exception as exc:  # policy.default has raised on some broken headers
        notes = [f"policy.default failed ({type(exc).__name__}); parsed with compat32"]
        return email.message_from_bytes(raw, policy=policy.compat32), notes


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(clean_line(value))
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    # "-0000" means the zone is unknown; UTC is the only honest reading of it.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _defects(msg: Message, notes: list[str]) -> tuple[str, ...]:
    found = [type(d).__name__ for part in walk_parts(msg) for d in part.defects]
    return tuple(dict.fromkeys([*found, *notes]))[:_MAX_DEFECTS]


class _BodyCollector:
    """Walks the MIME tree once, gathering body text and attachments."""

    def __init__(self, limits: _Limits) -> None:
        self.limits = limits
        self.texts: list[str] = []
        self.attachments: list[MailAttachment] = []
        self.notes: list[str] = []
        self.html = False
        self.truncated = False

    def text(self) -> str:
        return "\n\n".join(t.strip("\r\n") for t in self.texts if t.strip())

    def collect(self, part: Message, depth: int) -> None:
        ctype = part_type(part)
        children = child_parts(part)
        if depth > MAX_DEPTH:
            self.notes.append("MIME nesting too deep; inner parts ignored")
        elif children is None or not ctype.startswith("multipart/"):
            self._leaf(part, ctype)
        elif ctype == "multipart/alternative":
            self._alternative(children, depth)
        elif ctype == "multipart/report":
            # Only the first part is for people; mail.reports reads the rest.
            for child in children[:1]:
                self.collect(child, depth + 1)
        else:
            for child in children:
                self.collect(child, depth + 1)

    def _alternative(self, children: list[Message], depth: int) -> None:
        ranked = sorted(children, key=_alternative_rank)
        for child in ranked:
            branch = _BodyCollector(self.limits)
            branch.collect(child, depth + 1)
            if branch.text():
                self._merge(branch)
                return

    def _merge(self, other: _BodyCollector) -> None:
        self.texts.extend(other.texts)
        self.attachments.extend(other.attachments)
        self.notes.extend(other.notes)
        self.html = self.html or other.html
        self.truncated = self.truncated or other.truncated

    def _leaf(self, part: Message, ctype: str) -> None:
        if ctype in DSN_TYPES or ctype == "text/rfc822-headers":
            return
        if _is_body_text(part, ctype):
            self._body_text(part, ctype)
        else:
            self._attachment(part, ctype)

    def _body_text(self, part: Message, ctype: str) -> None:
        is_html = ctype == "text/html"
        per_char = _HTML_BYTES_PER_CHAR if is_html else _TEXT_BYTES_PER_CHAR
        data = payload_bytes(part)
        cut = len(data) > self.limits.text_chars * per_char
        if cut:
            data = data[: self.limits.text_chars * per_char]
            self.truncated = True

        declared = part_charset(part)
        text, used = decode_bytes(data, declared, final=not cut)
        if declared and used != declared:
            self.notes.append(f"charset {declared!r} did not decode; used {used}")
        self.texts.append(html_to_text(text) if is_html else text)
        self.html = self.html or is_html

    def _attachment(self, part: Message, ctype: str) -> None:
        if len(self.attachments) >= _MAX_ATTACHMENTS:
            self.notes.append("too many attachments; the rest were not recorded")
            return
        data = _message_bytes(part) if part.is_multipart() else payload_bytes(part)
        keep = len(data) <= self.limits.attachment_bytes
        if not keep:
            self.notes.append(f"attachment of {len(data)} bytes not kept")
        self.attachments.append(
            MailAttachment(_filename(part), ctype, len(data), data if keep else None)
        )


def _alternative_rank(part: Message) -> int:
    ctype = part_type(part)
    if ctype == "text/plain":
        return 0
    return 1 if ctype.startswith("multipart/") else 2 if ctype == "text/html" else 3


def _is_body_text(part: Message, ctype: str) -> bool:
    if ctype not in ("text/plain", "text/html") and not ctype.startswith("multipart/"):
        return False
    try:
        return part.get_content_disposition() != "attachment" and not part.get_filename()
    except Exception:  # unreadable disposition: reading it as text loses nothing
        return True


def _message_bytes(part: Message) -> bytes:
    try:
        return b"".join(child.as_bytes() for child in child_parts(part) or [])
    except Exception:  # an attached message that cannot be re-serialised
        return b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a broken filename parameter: record the file without a name
        return None
    if not isinstance(name, str):
        return None
    name = clean_line(decode_words(desurrogate(name)))
    name = re.split(r"[/\\]", name)[-1].strip(" .")
    stem, dot, extension = name.rpartition(".")
    if len(name) > _MAX_FILENAME_CHARS:
        keep = _MAX_FILENAME_CHARS - len(extension) - 1
        name = f"{stem[:keep]}.{extension}" if dot and keep > 0 else name[:_MAX_FILENAME_CHARS]
    return name or None
