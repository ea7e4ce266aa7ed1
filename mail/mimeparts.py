"""Lenient readers for the pieces of a MIME message: charsets, encoded words, headers, parts."""

from __future__ import annotations

import codecs
import email.header
import re
from email.message import Message

_FALLBACK_CHARSETS = ("utf-8", "cp1252")
MAX_DEPTH = 20
_MAX_PARTS = 500
MAX_HEADER_CHARS = 8_000  # header parsers in the email package slow down badly past this
_MAX_LINE_CHARS = 1_000
_MAX_ID_CHARS = 998  # RFC 5322 line length: anything longer is not a Message-ID
_MAX_REFERENCES = 100
_ID = re.compile(r"<\s*([^<>\s]+)\s*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_FOLD = re.compile(r"\r?\n")


def decode_bytes(data: bytes, declared: str | None, *, final: bool = True) -> tuple[str, str]:
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


def desurrogate(value: str) -> str:
    """Header text carries undeclared 8-bit bytes as surrogates; decode those bytes properly."""
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeError:
        return _CONTROL.sub("", value)
    return decode_bytes(data, None)[0]


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; the raw text is kept when one does not decode."""
    if "=?" not in value:
        return value
    value = value[:MAX_HEADER_CHARS]  # decode_header is quadratic in the number of words
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
    return decode_bytes(chunk, charset)[0]


def clean_text(text: str) -> str:
    """Body text with Unix line ends and no NUL."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\x00", "")


def clean_line(value: str) -> str:
    """One line of text: no control characters, so no header can be injected with it."""
    return " ".join(_CONTROL.sub("", value).split())[:_MAX_LINE_CHARS]


def cap_text(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters, and whether it was cut."""
    return (text[:limit], True) if len(text) > limit else (text, False)


def raw_headers(msg: Message) -> dict[str, str]:
    """First raw value of each header, unfolded, 8-bit bytes decoded."""
    found: dict[str, str] = {}
    for name, value in msg.raw_items():
        found.setdefault(str(name).lower(), desurrogate(_FOLD.sub("", str(value))))
    return found


def header_field(headers: dict[str, str], name: str) -> str | None:
    """One header from `raw_headers` as a single clean line, or None when absent."""
    value = headers.get(name)
    return None if value is None else clean_line(value)


def extract_id(value: str | None) -> str | None:
    """The first message id in a Message-ID or In-Reply-To value, without brackets."""
    ids = extract_ids(value)
    return ids[0] if ids else None


def extract_ids(value: str | None) -> tuple[str, ...]:
    """The message ids of a References value, bounded in length and number."""
    if value is None:
        return ()
    value = _CONTROL.sub("", value)
    ids = _ID.findall(value) or [token.strip("<>") for token in value.split()]
    return tuple(i for i in ids if 0 < len(i) <= _MAX_ID_CHARS)[:_MAX_REFERENCES]


def part_type(part: Message) -> str:
    """The part's content type in lower case; text/plain when it cannot be read."""
    try:
        return clean_line(part.get_content_type().lower()) or "text/plain"
    except Exception:  # an unparseable Content-Type is read as the RFC default
        return "text/plain"


def walk_parts(msg: Message) -> list[Message]:
    """All parts, depth-first, bounded in depth and count (Message.walk recurses freely)."""
    found: list[Message] = []
    stack = [(msg, 0)]
    while stack and len(found) < _MAX_PARTS:
        part, depth = stack.pop()
        found.append(part)
        if depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(child_parts(part) or []))
    return found


def child_parts(part: Message) -> list[Message] | None:
    """Sub-parts of a multipart or message/* part; None for a leaf."""
    payload = part.get_payload() if part.is_multipart() else None
    if not isinstance(payload, list):
        return None
    return [child for child in payload if isinstance(child, Message)]


def payload_bytes(part: Message) -> bytes:
    """The part's decoded content; the raw text when its transfer encoding is broken."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding: fall back to the undecoded text
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def part_charset(part: Message) -> str | None:
    """The charset the part declares, if it can be read."""
    try:
        charset = part.get_content_charset()
    except Exception:  # an unreadable charset parameter is the same as none
        return None
    return charset if isinstance(charset, str) else None
