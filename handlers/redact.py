"""Secrets that must never reach a log line, and the logging filter that blanks them.

The settings' secrets are registered at start-up; code that makes a secret of its own (a
one-time code, a password from a mailbox) registers it with `protect` before it could be
logged. Registered values are replaced by `***` in every record passing the filter,
arguments and tracebacks included. This is the second line of defence: the first is never
passing a secret to a logger at all.
"""

from __future__ import annotations

import logging
import threading

MIN_LENGTH = 4  # shorter values would blank ordinary words
MASK = "***"

_secrets: set[str] = set()
_lock = threading.Lock()


def protect(*values: str | None) -> None:
    """Register values that must never be logged (None and very short values are ignored)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_LENGTH)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by ***."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Renders each record's message (and traceback) once, with secrets blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
