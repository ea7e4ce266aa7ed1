"""A local record of sends, written the moment a channel accepts a message.

Marking an outbox row sent needs a database transaction, which may wait for a lock or a
round trip; a process killed in that wait would send the message again after a restart.
One `write` to an append-only file takes microseconds and survives a killed process (the
kernel keeps it), so the sender writes here first and the database catches up, now or at
the next start. A machine that loses power may lose the last lines: then those messages
are sent again, which is the old behaviour, not a loss.

A line `~id` is written just before a send starts and `-id` when it ends without being
accepted. A send begun but neither accepted nor ended was in flight when the process died:
Telegram may or may not have it, and the Bot API cannot be asked. Such a message is sent
again (a loss would be worse), and the sender reports it as a possible duplicate.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


class SentJournal:
    """Append-only lines `outbox_id<TAB>ref` (plus `~id`, `-id` around each send); cleared
    once the database holds them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(self, outbox_id: int, ref: str | None) -> None:
        """Note that a message left; one write, no await, so nothing can come between."""
        os.write(self._fd, f"{outbox_id}\t{ref or ''}\n".encode())

    def begin(self, outbox_id: int) -> None:
        """Note that a send starts (so a kill during it can be told apart afterwards)."""
        os.write(self._fd, f"~{outbox_id}\n".encode())

    def settle(self, outbox_id: int) -> None:
        """Note that a send ended without the channel accepting it."""
        os.write(self._fd, f"-{outbox_id}\n".encode())

    def entries(self) -> dict[int, str | None]:
        """Every send noted since the last clear; an unreadable line is skipped and logged."""
        return self._read()[0]

    def in_doubt(self) -> list[int]:
        """Sends begun but neither accepted nor ended: in flight when the process died."""
        accepted, begun = self._read()
        return sorted(begun - set(accepted))

    def _read(self) -> tuple[dict[int, str | None], set[int]]:
        found: dict[int, str | None] = {}
        begun: set[int] = set()
        for number, line in enumerate(self.path.read_text("utf-8", "replace").splitlines(), 1):
            mark, digits = line[:1], line[1:]
            if mark in "~-" and digits.isdigit():
                (begun.add if mark == "~" else begun.discard)(int(digits))
                continue
            outbox_id, _, ref = line.partition("\t")
            if not outbox_id.isdigit():
                logger.warning("%s:%s: unreadable line skipped", self.path, number)
                continue
            found[int(outbox_id)] = ref or None
        return found, begun

    def clear(self) -> None:
        """Forget everything noted (call only when the database has it all)."""
        os.ftruncate(self._fd, 0)

    def fileno(self) -> int:
        """The open file, for locking it (one sender per journal)."""
        return self._fd

    def close(self) -> None:
        """Release the file."""
        os.close(self._fd)
