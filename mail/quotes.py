"""Separating the newly written part of a mail from quoted replies and signatures."""

from __future__ import annotations

import re

# Attributions often wrap over two or three lines, so they are matched on joined lines.
_ATTRIBUTION_START = re.compile(r"^\s*(on|pada|am|le|el|op)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(
    r"(wrote|menulis|schrieb|a écrit|escribió|schreef)\s*:\s*$", re.IGNORECASE
)
_ATTRIBUTION_SPAN = 3
_DATE_OR_ADDRESS = re.compile(r"\d|@")
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|pesan asli|forwarded message|pesan yang diteruskan)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|dari)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\*?(sent|dikirim|date|tanggal)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_SPAN = 4
_SIGNATURE = re.compile(
    r"^(-- ?|sent from my .*|dikirim dari .*|get outlook for .*)$", re.IGNORECASE
)


def split_reply(text: str) -> str:
    """Return what the sender wrote anew: no quoted history, no signature.

    When nothing is left (a message that is only a quote), the whole text is returned,
    because an empty question is worse than a long one.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _history_start(lines)]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = lines[: _signature_start(lines)]

    new_text = "\n".join(lines).strip()
    return new_text or text.strip()


def _history_start(lines: list[str]) -> int:
    """Index of the first line of quoted history, or len(lines) when there is none."""
    for index, line in enumerate(lines):
        if _is_attribution(lines, index) or _ORIGINAL_MESSAGE.match(line):
            return index
        if _is_outlook_header(lines, index):
            return index
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    if not _ATTRIBUTION_START.match(lines[index]):
        return False
    for end in range(index + 1, min(index + _ATTRIBUTION_SPAN, len(lines)) + 1):
        joined = " ".join(line.strip() for line in lines[index:end])
        # Real attributions carry a date or an address; "On the screen it wrote:" does not.
        if _ATTRIBUTION_END.search(joined) and _DATE_OR_ADDRESS.search(joined):
            return True
    return False


def _is_outlook_header(lines: list[str], index: int) -> bool:
    if not _OUTLOOK_FROM.match(lines[index]):
        return False
    following = lines[index + 1 : index + _OUTLOOK_SPAN]
    return any(_OUTLOOK_SENT.match(line) for line in following)


def _signature_start(lines: list[str]) -> int:
    """Index of the signature separator line, or len(lines) when there is none."""
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line):
            return index
    return len(lines)
