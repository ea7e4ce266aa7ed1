"""The IMAP wire details intake needs: keys for messages, FETCH answers, fetch groups."""

from __future__ import annotations

import email.parser
import hashlib
import re
from collections.abc import Sequence
from email import policy
from typing import Any

from mail.parsing import digest_key

UID = re.compile(rb"UID (\d+)")
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,300})>")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
FETCH_BYTES = 8_000_000  # at most this much mail in memory per fetch


def external_id(raw: bytes) -> str:
    """What recognises a message seen before: its Message-ID, else a digest of its bytes."""
    # Only the header block: parsing the whole message would also copy its body as text
    # (tens of MB with a large attachment); the headers end at the first empty line anyway.
    blank = _BLANK_LINE.search(raw)
    head = raw[: blank.end()] if blank else raw
    try:
        headers = email.parser.BytesHeaderParser(policy=policy.compat32).parsebytes(head)
        value = str(headers.get("message-id", "") or "")
    except Exception:  # a header block the parser chokes on: the digest still works
        value = ""
    found = _MESSAGE_ID.search(value)
    return found.group(1) if found else digest_key(raw)


def parse_fetch(lines: Sequence[Any]) -> list[tuple[int, bytes]]:
    """(UID, raw message) pairs of a `UID FETCH ... (UID BODY.PEEK[])` answer."""
    found = []
    for index, line in enumerate(lines):
        if not isinstance(line, bytearray) or index == 0:
            continue
        head = bytes(lines[index - 1])
        tail = lines[index + 1] if index + 1 < len(lines) else b""
        tail = b"" if isinstance(tail, bytearray) else bytes(tail)
        match = UID.search(head) or UID.search(tail)
        if match is not None:
            found.append((int(match.group(1)), bytes(line)))
    return found


def by_size(sizes: list[tuple[int, int]]) -> list[tuple[list[int], int]]:
    """UIDs in order, grouped so each group holds at most FETCH_BYTES (or one message)."""
    groups: list[tuple[list[int], int]] = []
    batch: list[int] = []
    total = 0
    for uid, size in sizes:
        if batch and total + size > FETCH_BYTES:
            groups.append((batch, total))
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        groups.append((batch, total))
    return groups


def storage_key(raw: bytes) -> str:
    key = external_id(raw)
    # inbound_updates.external_id holds 320 characters; longer ids are stored as a digest.
    return key if len(key) <= 300 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
