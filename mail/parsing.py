"""Raw inbound mail bytes to a ParsedMail: headers, text, attachments, report data."""

from __future__ import annotations

import codecs
import email
import email.header
import email.parser
import email.utils
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message

from mail.htmltext import html_to_text
from mail.quotes import split_reply

_FALLBACK_CHARSETS = ("utf-8", "cp1252")
_TEXT_BYTES_PER_CHAR = 4  # UTF-8 needs at most four bytes a character
_HTML_BYTES_PER_CHAR = 20  # markup is mostly thrown away, so allow far more bytes
_MAX_DEPTH = 20
_MAX_PARTS = 500
_MAX_ATTACHMENTS = 100
_MAX_DEFECTS = 50
_MAX_HEADER_CHARS = 8_000  # header parsers in the email package slow down badly past this
_MAX_LINE_CHARS = 1_000
_MAX_ID_CHARS = 998  # RFC 5322 line length: anything longer is not a Message-ID
_MAX_REFERENCES = 100
_MAX_FILENAME_CHARS = 200

# Local parts must start and end with a letter or digit: "?=@host" is left-over encoded word.
_LOCAL = r"\w(?:[\w!#$%&'*+/=?^`{|}~.-]*\w)?"
_DOMAIN = r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*"
_ADDRESS = re.compile(rf"{_LOCAL}@{_DOMAIN}")
_ANGLE_ADDRESS = re.compile(rf"<\s*({_LOCAL}@{_DOMAIN})\s*>")
_BARE_ADDRESS = re.compile(rf"(?<![\w.@<-])({_LOCAL}@{_DOMAIN})")
_BOUNCE_LINE = re.compile(rf"^\s*<({_LOCAL}@{_DOMAIN})>\s*:", re.MULTILINE)
_FINAL_RECIPIENT = re.compile(rf"^final-recipient:[^;\n]*;\s*({_LOCAL}@{_DOMAIN})", re.I | re.M)
_MESSAGE_ID_LINE = re.compile(r"^\s*message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_ID = re.compile(r"<\s*([^<>\s]+)\s*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_FOLD = re.compile(r"\r?\n")
_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADERS_TYPES = frozenset(
    {"text/rfc822-headers", "message/rfc822", "message/global", "message/global-headers"}
)
_SKIPPED_ACTIONS = frozenset({"delayed", "delivered", "relayed", "expanded"})


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


def sender_is_daemon(address: str | None) -> bool:
    """Whether `address` is a mailer-daemon or postmaster mailbox."""
    return address is not None and address.partition("@")[0] in _DAEMON_LOCAL_PARTS


def _salvage(raw: bytes, key: str, limits: _Limits, exc: Exception) -> ParsedMail:
    chunk = raw[: limits.text_chars * _TEXT_BYTES_PER_CHAR]
    text, truncated = _cap(_clean_text(_decode_bytes(chunk, None)[0]), limits.text_chars)
    return ParsedMail(
        dedup_key=key,
        text=text,
        text_truncated=truncated or len(chunk) < len(raw),
        new_text=text,
        parse_error=_clean_line(f"{type(exc).__name__}: {exc}"),
    )


def _parse(raw: bytes, key: str, limits: _Limits) -> ParsedMail:
    msg, notes = _message_from(raw)
    headers = _raw_headers(msg)
    body = _BodyCollector(limits)
    body.collect(msg, 0)

    text, truncated = _cap(_clean_text(body.text()), limits.text_chars)
    message_id = _extract_id(headers.get("message-id"))
    from_address, from_name = _sender(msg, headers.get("from"))
    reply_to = _addresses(msg, "reply-to", headers.get("reply-to"))
    report = _Report.read(msg, text, from_address)
    return ParsedMail(
        dedup_key=message_id or key,
        message_id=message_id,
        from_address=from_address,
        from_name=from_name,
        reply_to_address=reply_to[0] if reply_to else None,
        to_addresses=_addresses(msg, "to", headers.get("to")),
        subject=_clean_line(_decode_words(headers.get("subject", ""))),
        date=_parse_date(headers.get("date")),
        in_reply_to=_extract_id(headers.get("in-reply-to")),
        references=_extract_ids(headers.get("references")),
        text=text,
        text_truncated=truncated or body.truncated,
        new_text=split_reply(text),
        html_converted=body.html,
        attachments=tuple(body.attachments),
        auto_submitted=_field(headers, "auto-submitted"),
        precedence=_field(headers, "precedence"),
        list_id=_field(headers, "list-id"),
        list_unsubscribe=_field(headers, "list-unsubscribe"),
        return_path=_field(headers, "return-path"),
        content_type=_content_type(msg),
        x_auto_response_suppress=_field(headers, "x-auto-response-suppress"),
        x_autoreply=_field(headers, "x-autoreply"),
        x_autorespond=_field(headers, "x-autorespond"),
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


# --- text decoding ---------------------------------------------------------------------


def _decode_bytes(data: bytes, declared: str | None, *, final: bool = True) -> tuple[str, str]:
    """Decode with the declared charset, then UTF-8, then cp1252; latin-1 always works."""
    for charset in (declared, *_FALLBACK_CHARSETS):
        decoded = _try_decode(data, charset, final=final) if charset else None
        if decoded is not None:
            return decoded, str(charset)
    return data.decode("latin-1"), "latin-1"


def _try_decode(data: bytes, charset: str, *, final: bool) -> str | None:
    try:
        # An incremental decoder keeps a multibyte character cut by the size cap from failing.
        decoded = codecs.getincrementaldecoder(charset)("strict").decode(data, final)
    except (LookupError, UnicodeError, ValueError, TypeError):
        return None
    return decoded if isinstance(decoded, str) else None


def _desurrogate(value: str) -> str:
    """Header text carries undeclared 8-bit bytes as surrogates; decode those bytes properly."""
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeError:
        return _CONTROL.sub("", value)
    return _decode_bytes(data, None)[0]


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; the raw text is kept when one does not decode."""
    if "=?" not in value:
        return value
    value = value[:_MAX_HEADER_CHARS]  # decode_header is quadratic in the number of words
    try:
        chunks = email.header.decode_header(value)
        return "".join(_decode_chunk(chunk, charset) for chunk, charset in chunks)
    except Exception:  # binascii, HeaderParseError and codec faults all mean "keep raw"
        return value


def _decode_chunk(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    if charset is None:
        # decode_header re-encodes the plain text between encoded words this way.
        return chunk.decode("raw-unicode-escape")
    return _decode_bytes(chunk, charset)[0]


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\x00", "")


def _clean_line(value: str) -> str:
    """One line of text: no control characters, so no header can be injected with it."""
    return " ".join(_CONTROL.sub("", value).split())[:_MAX_LINE_CHARS]


def _cap(text: str, limit: int) -> tuple[str, bool]:
    return (text[:limit], True) if len(text) > limit else (text, False)


# --- headers ---------------------------------------------------------------------------


def _raw_headers(msg: Message) -> dict[str, str]:
    """First raw value of each header, unfolded, 8-bit bytes decoded."""
    found: dict[str, str] = {}
    for name, value in msg.raw_items():
        found.setdefault(str(name).lower(), _desurrogate(_FOLD.sub("", str(value))))
    return found


def _field(headers: dict[str, str], name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else _clean_line(value)


def _extract_id(value: str | None) -> str | None:
    ids = _extract_ids(value)
    return ids[0] if ids else None


def _extract_ids(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    value = _CONTROL.sub("", value)
    ids = _ID.findall(value) or [token.strip("<>") for token in value.split()]
    return tuple(i for i in ids if 0 < len(i) <= _MAX_ID_CHARS)[:_MAX_REFERENCES]


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(_clean_line(value))
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    # "-0000" means the zone is unknown; UTC is the only honest reading of it.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _sender(msg: Message, raw: str | None) -> tuple[str | None, str | None]:
    addresses = _addresses(msg, "from", raw)
    if not addresses or raw is None:
        return None, None
    return addresses[0], _display_name(raw, addresses[0])


def _display_name(raw: str, address: str) -> str | None:
    """The text before `<address>`, decoded if it can be, else as it was sent."""
    decoded = _decode_words(raw)
    index = decoded.lower().find("<" + address)
    if index < 0:
        return None
    return _clean_line(decoded[:index].strip(" \t\"',")) or None


def _addresses(msg: Message, name: str, raw: str | None) -> tuple[str, ...]:
    """Valid addresses of a header: parsed if possible, else found in the raw text."""
    if raw is None:
        return ()
    parsed = _parsed_addresses(msg, name, raw) if len(raw) <= _MAX_HEADER_CHARS else []
    raw = raw[:_MAX_HEADER_CHARS]
    candidates = (
        parsed,
        _ANGLE_ADDRESS.findall(raw),
        _ANGLE_ADDRESS.findall(_decode_words(raw)),
        _BARE_ADDRESS.findall(raw),
    )
    for found in candidates:
        valid = [a.lower() for a in found if _is_address(a)]
        if valid:
            return tuple(dict.fromkeys(valid))
    return ()


def _parsed_addresses(msg: Message, name: str, raw: str) -> list[str]:
    try:
        addresses = getattr(msg[name], "addresses", None)
        if addresses is not None:
            return [str(a.addr_spec) for a in addresses]
    except Exception:  # policy.default raises on some broken headers; compat32 copes
        pass
    return [spec for _, spec in email.utils.getaddresses([raw])]


def _is_address(candidate: str) -> bool:
    return len(candidate) <= 254 and _ADDRESS.fullmatch(candidate) is not None


def _content_type(part: Message) -> str:
    try:
        return _clean_line(part.get_content_type().lower()) or "text/plain"
    except Exception:  # an unparseable Content-Type is read as the RFC default
        return "text/plain"


def _defects(msg: Message, notes: list[str]) -> tuple[str, ...]:
    found = [type(d).__name__ for part in _walk(msg) for d in part.defects]
    return tuple(dict.fromkeys([*found, *notes]))[:_MAX_DEFECTS]


def _walk(msg: Message) -> list[Message]:
    """All parts, depth-first, bounded in depth and count (Message.walk recurses freely)."""
    found: list[Message] = []
    stack = [(msg, 0)]
    while stack and len(found) < _MAX_PARTS:
        part, depth = stack.pop()
        found.append(part)
        if depth < _MAX_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(_children(part) or []))
    return found


def _children(part: Message) -> list[Message] | None:
    """Sub-parts of a multipart or message/* part; None for a leaf."""
    payload = part.get_payload() if part.is_multipart() else None
    if not isinstance(payload, list):
        return None
    return [child for child in payload if isinstance(child, Message)]


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding: fall back to the undecoded text
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:  # an unreadable charset parameter is the same as none
        return None
    return charset if isinstance(charset, str) else None


# --- body and attachments --------------------------------------------------------------


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
        ctype = _content_type(part)
        children = _children(part)
        if depth > _MAX_DEPTH:
            self.notes.append("MIME nesting too deep; inner parts ignored")
        elif children is None or not ctype.startswith("multipart/"):
            self._leaf(part, ctype)
        elif ctype == "multipart/alternative":
            self._alternative(children, depth)
        elif ctype == "multipart/report":
            # Only the first part is for people; the rest is read by _Report.
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
        if ctype in _DSN_TYPES or ctype == "text/rfc822-headers":
            return
        if _is_body_text(part, ctype):
            self._body_text(part, ctype)
        else:
            self._attachment(part, ctype)

    def _body_text(self, part: Message, ctype: str) -> None:
        is_html = ctype == "text/html"
        per_char = _HTML_BYTES_PER_CHAR if is_html else _TEXT_BYTES_PER_CHAR
        data = _payload_bytes(part)
        cut = len(data) > self.limits.text_chars * per_char
        if cut:
            data = data[: self.limits.text_chars * per_char]
            self.truncated = True

        declared = _charset(part)
        text, used = _decode_bytes(data, declared, final=not cut)
        if declared and used != declared:
            self.notes.append(f"charset {declared!r} did not decode; used {used}")
        self.texts.append(html_to_text(text) if is_html else text)
        self.html = self.html or is_html

    def _attachment(self, part: Message, ctype: str) -> None:
        if len(self.attachments) >= _MAX_ATTACHMENTS:
            self.notes.append("too many attachments; the rest were not recorded")
            return
        data = _message_bytes(part) if part.is_multipart() else _payload_bytes(part)
        keep = len(data) <= self.limits.attachment_bytes
        if not keep:
            self.notes.append(f"attachment of {len(data)} bytes not kept")
        self.attachments.append(
            MailAttachment(_filename(part), ctype, len(data), data if keep else None)
        )


def _alternative_rank(part: Message) -> int:
    ctype = _content_type(part)
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
        return b"".join(child.as_bytes() for child in _children(part) or [])
    except Exception:  # an attached message that cannot be re-serialised
        return b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a broken filename parameter: record the file without a name
        return None
    if not isinstance(name, str):
        return None
    name = _clean_line(_decode_words(_desurrogate(name)))
    name = re.split(r"[/\\]", name)[-1].strip(" .")
    stem, dot, extension = name.rpartition(".")
    if len(name) > _MAX_FILENAME_CHARS:
        keep = _MAX_FILENAME_CHARS - len(extension) - 1
        name = f"{stem[:keep]}.{extension}" if dot and keep > 0 else name[:_MAX_FILENAME_CHARS]
    return name or None


# --- delivery reports ------------------------------------------------------------------


@dataclass(frozen=True)
class _Report:
    is_report: bool = False
    recipients: tuple[str, ...] = ()
    original_message_id: str | None = None

    @classmethod
    def read(cls, msg: Message, text: str, sender: str | None) -> _Report:
        typed = [(part, _content_type(part)) for part in _walk(msg)]
        is_report = typed[0][1] == "multipart/report" or any(t in _DSN_TYPES for _, t in typed)
        recipients = [a for part, t in typed if t in _DSN_TYPES for a in _dsn(part)]
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
    blocks = _children(part)
    if blocks is None:
        text = _decode_bytes(_payload_bytes(part), None)[0]
        return [a.lower() for a in _FINAL_RECIPIENT.findall(text)]
    found = []
    for block in blocks:
        fields = _raw_headers(block)
        recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
        action = fields.get("action", "failed").strip().lower()
        match = _ADDRESS.search(recipient.rpartition(";")[2])
        if match and action not in _SKIPPED_ACTIONS:
            found.append(match.group(0).lower())
    return found


def _embedded_id(part: Message) -> str | None:
    """Message-ID of the original message quoted in a report."""
    inner = _children(part)
    if inner is not None:
        return _extract_id(_raw_headers(inner[0]).get("message-id")) if inner else None
    text = _decode_bytes(_payload_bytes(part), None)[0]
    headers = email.parser.HeaderParser(policy=policy.compat32).parsestr(text)
    return _extract_id(_raw_headers(headers).get("message-id"))


def _text_message_id(text: str) -> str | None:
    match = _MESSAGE_ID_LINE.search(text)
    return match.group(1) if match else None
