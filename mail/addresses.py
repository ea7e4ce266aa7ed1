"""Email addresses in headers: parsed where the header allows it, else found in its text."""

from __future__ import annotations

import email.utils
import re
from email.message import Message

from mail.mimeparts import MAX_HEADER_CHARS, clean_line, decode_words

# Local parts must start and end with a letter or digit: "?=@host" is left-over encoded word.
_LOCAL = r"\w(?:[\w!#$%&'*+/=?^`{|}~.-]*\w)?"
_DOMAIN = r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*"
ADDRESS_PATTERN = rf"{_LOCAL}@{_DOMAIN}"
ADDRESS = re.compile(ADDRESS_PATTERN)
_ANGLE_ADDRESS = re.compile(rf"<\s*({ADDRESS_PATTERN})\s*>")
_BARE_ADDRESS = re.compile(rf"(?<![\w.@<-])({ADDRESS_PATTERN})")
_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})


def sender_is_daemon(address: str | None) -> bool:
    """Whether `address` is a mailer-daemon or postmaster mailbox."""
    return address is not None and address.partition("@")[0] in _DAEMON_LOCAL_PARTS


def sender_of(msg: Message, raw: str | None) -> tuple[str | None, str | None]:
    """The From address and its display name, each None when not found."""
    addresses = header_addresses(msg, "from", raw)
    if not addresses or raw is None:
        return None, None
    return addresses[0], _display_name(raw, addresses[0])


def _display_name(raw: str, address: str) -> str | None:
    """The text before `<address>`, decoded if it can be, else as it was sent."""
    decoded = decode_words(raw)
    index = decoded.lower().find("<" + address)
    if index < 0:
        return None
    return clean_line(decoded[:index].strip(" \t\"',")) or None


def header_addresses(msg: Message, name: str, raw: str | None) -> tuple[str, ...]:
    """Valid addresses of a header: parsed if possible, else found in the raw text."""
    if raw is None:
        return ()
    parsed = _parsed_addresses(msg, name, raw) if len(raw) <= MAX_HEADER_CHARS else []
    raw = raw[:MAX_HEADER_CHARS]
    candidates = (
        parsed,
        _ANGLE_ADDRESS.findall(raw),
        _ANGLE_ADDRESS.findall(decode_words(raw)),
        _BARE_ADDRESS.findall(raw),
    )
    for found in candidates:
        valid = [a.lower() for a in found if is_address(a)]
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


def is_address(candidate: str) -> bool:
    """Whether `candidate` is one plausible address of at most 254 characters."""
    return len(candidate) <= 254 and ADDRESS.fullmatch(candidate) is not None
