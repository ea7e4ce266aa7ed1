"""Telegram's sending limits as sliding windows: 30 per second overall, 20 per minute a group.

python-telegram-bot's AIORateLimiter uses leaky buckets that start full, so a burst fills
the bucket and the leak adds as many again: measured here, 59 sends fell within one second
and a group could see 40 in a minute. A sliding window holds to the limits themselves: at
most `limit` sends in any `period`, bursts included, counted so that network delays
cannot pack more into Telegram's own window. A 429 that still comes is handed to
the outbox, which waits as Telegram says (no retries here).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

JSONDict = dict[str, Any]
OVERALL = (30, 1.0)
PER_GROUP = (20, 60.0)
Result = bool | JSONDict | list[JSONDict]


class Window:
    """At most `limit` requests in any `period` seconds, as the server receives them.

    A request counts from its start until `period` after its answer came back: the server
    received it somewhere in between, so no `period` at the server can hold more than
    `limit` of them, whatever the network delays.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.in_flight = 0
        self._done: deque[float] = deque()  # when answers came back, oldest first
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for a free place (waiters go in order)."""
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._done and self._done[0] <= now - self.period:
                    self._done.popleft()
                if self.in_flight + len(self._done) < self.limit:
                    self.in_flight += 1
                    return
                wake = self._done[0] + self.period - now if self._done else 0.05
                await asyncio.sleep(min(max(wake, 0.001), 0.05))

    def release(self) -> None:
        """The request's answer came back (or it failed)."""
        self.in_flight -= 1
        self._done.append(time.monotonic())


class WindowRateLimiter(BaseRateLimiter[int]):
    """Requests naming a chat wait for the overall window, and group ones for their group's."""

    def __init__(
        self,
        *,
        overall: tuple[int, float] = OVERALL,
        per_group: tuple[int, float] = PER_GROUP,
    ) -> None:
        self.overall = Window(*overall)
        self.per_group = per_group
        self._groups: dict[int | str, Window] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Wait for the windows the request falls under, then make it."""
        chat_id = data.get("chat_id")
        if chat_id is None:
            return await callback(*args, **kwargs)
        windows = [self.overall]
        group = _group_key(chat_id)
        if group is not None:
            if group not in self._groups:
                self._groups[group] = Window(*self.per_group)
            windows.insert(0, self._groups[group])
        for window in windows:
            await window.acquire()
        try:
            return await callback(*args, **kwargs)
        finally:
            for window in windows:
                window.release()


def _group_key(chat_id: object) -> int | str | None:
    """Groups have negative ids (or an @username); private chats are not group-limited."""
    try:
        number = int(str(chat_id))
    except ValueError:
        return str(chat_id)
    return number if number < 0 else None
