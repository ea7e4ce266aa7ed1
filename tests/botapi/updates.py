"""The update queue behind getUpdates: offsets, long polling and allowed_updates."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from .errors import ApiError

# Telegram's default when allowed_updates was never given.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


def update_type(update: dict[str, Any]) -> str:
    """The one field of an update besides update_id, e.g. "message"."""
    return next((key for key in update if key != "update_id"), "")


class UpdateQueue:
    """Updates waiting for the bot, kept until a later offset confirms them."""

    def __init__(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._generation = 0
        self.last_id = 0
        self.allowed: frozenset[str] | None = None
        self.closed = False

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update, keeping its id if it is higher than every earlier one."""
        given = update.get("update_id")
        if not isinstance(given, int) or given <= self.last_id:
            # A lower id would count as confirmed already and never be delivered.
            update = {
                "update_id": self.last_id + 1,
                **{k: v for k, v in update.items() if k != "update_id"},
            }
        self.last_id = update["update_id"]
        self._pending.append(update)
        self._notify()
        return update

    def close(self) -> None:
        self.closed = True
        self._notify()

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def confirm(self, offset: int) -> None:
        """Drop as Telegram does: below a positive offset, or all but the last -offset."""
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()

    def _allows(self, update: dict[str, Any]) -> bool:
        kind = update_type(update)
        return kind in self.allowed if self.allowed else kind not in DEFAULT_EXCLUDED

    def take(self, limit: int) -> list[dict[str, Any]]:
        """Up to limit deliverable updates; the ones the bot did not ask for are dropped."""
        kept = [update for update in self._pending if self._allows(update)]
        if len(kept) != len(self._pending):
            self._pending = deque(kept)
        return kept[:limit]

    async def poll(
        self, offset: int, limit: int, timeout: float, allowed: list[str] | None
    ) -> list[dict[str, Any]]:
        """getUpdates: confirm, then return at once if anything waits, else wait up to timeout."""
        self._generation += 1
        generation = self._generation
        self._notify()  # wakes an older poll so that it ends with 409, as on Telegram
        if allowed is not None:
            self.allowed = frozenset(allowed)
        self.confirm(offset)

        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := self.take(limit)) and not self.closed:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            wake = self._wake
            try:
                async with asyncio.timeout(remaining):  # wait_for may drop a cancellation
                    await wake.wait()
            except TimeoutError:
                break
            if generation != self._generation:
                raise ApiError(409, CONFLICT)
        return found
