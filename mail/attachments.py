"""Attachments read back from stored raw emails by their `email:<stored key>#<n>` ref."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.intake import UnreadableInput
from mail.decode import raw_of
from mail.parsing import parse_message
from storage.database import reading
from storage.models import InboundUpdate

logger = logging.getLogger(__name__)

PREFIX = "email:"


class StoredAttachments:
    """A `FileLoader` for the sender: the bytes of one attachment, None when it is gone.

    Gone means the message was purged (privacy retention), the ref names no stored message,
    or the attachment was over `mail.max_attachment_bytes` when it came (its ref is empty,
    so it is never asked for).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def __call__(self, ref: str) -> bytes | None:
        message_id, _, number = ref.removeprefix(PREFIX).rpartition("#")
        if not ref.startswith(PREFIX) or not message_id or not number.isdigit():
            logger.warning("not an email attachment ref: %r", ref)
            return None
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
        # Parsing a message with large files takes a while: off the event loop.
        parsed = await asyncio.to_thread(parse_message, raw, max_attachment_bytes=len(raw))
        index = int(number)
        if index >= len(parsed.attachments):
            return None
        return parsed.attachments[index].content
