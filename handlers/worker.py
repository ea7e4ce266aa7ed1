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
    _stopping: bool = False

    def wake(self) -> None:
        """There is new work: look now instead of at the next timer."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run`."""
        self._stopping = True
        self._wake.set()

    async def _pause(self, timeout: float) -> None:
        """Sleep up to `timeout` seconds, or until woken."""
        self._wake.clear()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
        # arrives as the wait ends, and a loop that was only cancelled would then run on.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
