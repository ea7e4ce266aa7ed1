"""The loop shared by the processor and the sender: wake on news, stop between batches."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(kw_only=True)
class Worker:
    """Something that loops over batches, sleeps when idle and stops only between batches.

    Stopping between batches matters: a batch cut short by cancellation could fall between
    an action and its record.
    """

    _wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _stopping: bool = False

    def wake(self) -> None:
        """There is new work: look now instead of at the next timer."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run`."""
        self._stopping = True
        self._wake.set()
        self._stopped.set()

    async def _pause(self, timeout: float, *, until_wake: bool = True) -> None:
        """Sleep up to `timeout` seconds, or until woken (or, if not `until_wake`, stopped).

        A wake that came while the worker was busy, after it had looked for work, ends the
        next pause at once: the event is cleared when a pause ends, not when one begins, or
        that wake would be lost and its work would wait for the timer. A back-off after a
        failure passes `until_wake=False`, so news does not cut it short; only a stop does.
        """
        event = self._wake if until_wake else self._stopped
        if not self._stopping:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation
            # that arrives as the wait ends, and a loop that was only cancelled would run on.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await event.wait()
        if until_wake:
            self._wake.clear()
