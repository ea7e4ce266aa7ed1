"""Attachments read back from stored raw emails by their `email:<stored key>#<n>` ref."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.intake import UnreadableInput
from mail.decode import raw_of
from mail.parsing import parse_message
from storage.database import reading
from storage.models import InboundUpdate

logger = logging.getLogger(__name__)

PREFIX = "email:"
_KEEP_SECONDS = 60.0


class StoredAttachments:
    """A `FileLoader` for the sender: the bytes of one attachment, None when it is gone.

    Gone means the message was purged (privacy retention), the ref names no stored message,
    or the attachment was over `mail.max_attachment_bytes` when it came (its ref is empty,
    so it is never asked for).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        # One parse at a time: each takes several times the message's size in memory, and
        # the rows forwarding one email's files go to different chats, sent side by side.
        # Known cost: rows waiting here hold sender slots, so plain messages to other chats
        # can wait behind a run of large emails' files.
        self._lock = asyncio.Lock()
        # Those rows ask for the same message in turn: its files are kept for a minute, then
        # let go (a message purged for privacy is not kept in memory either).
        self._last: tuple[str, float, list[bytes | None]] | None = None
        self._release: asyncio.TimerHandle | None = None

    async def __call__(self, ref: str) -> bytes | None:
        message_id, _, number = ref.removeprefix(PREFIX).rpartition("#")
        if not ref.startswith(PREFIX) or not message_id or not number.isdigit():
            logger.warning("not an email attachment ref: %r", ref)
            return None
        async with self._lock:
            last = self._last
            if last is not None and last[0] == message_id and time.monotonic() < last[1]:
                contents = last[2]
            else:
                self._last = None  # let the previous message's bytes go before parsing
                found = await self._contents(message_id)
                if found is None:
                    return None
                contents = found
                self._last = (message_id, time.monotonic() + _KEEP_SECONDS, contents)
                if self._release is not None:
                    self._release.cancel()
                self._release = asyncio.get_running_loop().call_later(_KEEP_SECONDS, self._forget)
        index = int(number)
        return contents[index] if index < len(contents) else None

    def _forget(self) -> None:
        self._last = self._release = None

    async def _contents(self, message_id: str) -> list[bytes | None] | None:
        async with reading(self.sessions) as session:
            query = select(InboundUpdate.payload).where(
                InboundUpdate.channel == "email", InboundUpdate.external_id == message_id
            )
            payload = await session.scalar(query)
        if payload is None:
            return None
        try:
            raw = raw_of(payload)
        except UnreadableInput:
            return None  # purged: the raw message is no longer kept
        del payload
        # Parsing a message with large files takes a while: off the event loop.
        parsed = await asyncio.to_thread(parse_message, raw, max_attachment_bytes=len(raw))
        return [part.content for part in parsed.attachments]
