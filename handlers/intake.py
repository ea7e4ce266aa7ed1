"""Handling stored input: each update once, in arrival order, committed with its answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import Inbound
from handlers.worker import Worker
from storage import queues
from storage.models import InboundUpdate
from storage.types import utcnow

logger = logging.getLogger(__name__)


class UnreadableInput(Exception):
    """Input that lacks what every input of its kind has; retrying cannot help."""


Decoder = Callable[[dict[str, Any]], Inbound | None]


class Handler(Protocol):
    """The helpdesk as the processor sees it."""

    async def prepare(self, session: AsyncSession, batch: Sequence[Inbound]) -> None:
        """Read ahead what a batch of messages will need (an optimisation only)."""

    async def handle(self, session: AsyncSession, inbound: Inbound) -> None:
        """Answer one message, writing only through `session`."""

    async def report_failure(
        self,
        session: AsyncSession,
        inbound: Inbound | None,
        payload: dict[str, Any],
        error: str,
        attempts: int,
    ) -> None:
        """Tell the sender and staff that a message could not be handled."""


@dataclass
class InboundProcessor(Worker):
    """Takes pending input from the store and hands it to the helpdesk.

    A batch shares one transaction, each update in its own savepoint: a crash before the
    commit leaves the whole batch pending (handled again after restart, answers included),
    and one bad update does not hold up the others.
    """

    sessions: async_sessionmaker[AsyncSession]
    handler: Handler
    decoders: Mapping[str, Decoder]
    after_commit: Callable[[], None] = lambda: None
    max_attempts: int = 3
    batch_size: int = 100
    handled_count: int = 0
    failed_count: int = 0

    async def run(self) -> None:
        """Process until stopped; a database failure is logged and retried, never fatal."""
        delay = 0.5
        while not self._stopping:
            try:
                done = await self.process_pending()
                delay = 0.5
            except Exception:
                logger.exception("processing stored input failed; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if not done and not self._stopping:
                await self._pause(1.0)

    async def process_pending(self) -> int:
        """Handle one batch of pending input; return how many were taken.

        The batch is handled in one transaction, its rows written together at the commit.
        If any update in it fails, the batch is rolled back and handled again one update
        at a time, so the failure is isolated and counted against that update alone.
        """
        try:
            async with self.sessions.begin() as session:
                with session.no_autoflush:
                    batch = await queues.pending_inbound(session, limit=self.batch_size)
                    decoded = [(row, self._decode(row)) for row in batch]
                    await self.handler.prepare(session, [i for _, i in decoded if i])
                    for row, inbound in decoded:
                        if inbound is not None:
                            await self.handler.handle(session, inbound)
                        row.status, row.processed_at = "done", utcnow()
        except Exception:
            logger.info("a batch of input failed; handling its updates one at a time")
            async with self.sessions() as session:
                batch = await queues.pending_inbound(session, limit=self.batch_size)
            for row in batch:
                await self._process_alone(row.id)
        else:
            self.handled_count += len(batch)
        if batch:
            self.after_commit()
        return len(batch)

    async def _process_alone(self, update_id: int) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(InboundUpdate, update_id)
            if row is None or row.status != "pending":
                return
            inbound: Inbound | None = None
            try:
                async with session.begin_nested():
                    inbound = self._decode(row)
                    if inbound is not None:
                        await self.handler.handle(session, inbound)
            except Exception as exc:
                await self._failed(session, row, inbound, exc)
                return
            row.status, row.processed_at = "done", utcnow()
        self.handled_count += 1

    def _decode(self, row: InboundUpdate) -> Inbound | None:
        decoder = self.decoders.get(row.channel)
        if decoder is None:
            raise UnreadableInput(f"no decoder for channel {row.channel!r}")
        try:
            inbound = decoder(row.payload)
        except UnreadableInput:
            raise
        except Exception as exc:
            # Decoding is deterministic: a shape the decoder trips on will trip it again.
            raise UnreadableInput(f"malformed input ({type(exc).__name__}: {exc})") from exc
        if inbound is None:
            logger.debug("%s input %s needs no answer", row.channel, row.external_id)
        return inbound

    async def _failed(
        self, session: AsyncSession, row: InboundUpdate, inbound: Inbound | None, exc: Exception
    ) -> None:
        row.attempts = self.max_attempts if isinstance(exc, UnreadableInput) else row.attempts + 1
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts < self.max_attempts:
            logger.warning(
                "%s input %s failed (attempt %s), will retry: %s",
                row.channel,
                row.external_id,
                row.attempts,
                row.error,
            )
            return
        logger.error(
            "%s input %s failed %s times, set aside",
            row.channel,
            row.external_id,
            row.attempts,
            exc_info=exc,
        )
        row.status, row.processed_at = "failed", utcnow()
        self.failed_count += 1
        # The notice may trip on what broke the input (a sender the database refuses):
        # then staff get it without the sender's part, and the input stays set aside.
        for about in (inbound, None) if inbound is not None else (None,):
            try:
                async with session.begin_nested():
                    await self.handler.report_failure(
                        session, about, row.payload, row.error, row.attempts
                    )
                return
            except Exception:
                logger.exception("telling about failed input %s failed", row.external_id)
