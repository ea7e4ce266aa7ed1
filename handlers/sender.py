"""The outbox sender: each queued message delivered once, in order per chat."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.delivery import (
    PIECES_SENT,
    ChatMoved,
    Rejected,
    RetryLater,
    Transport,
    Unreachable,
    from_payload,
)
from handlers.health import CHANNEL_COMPONENT, StatusCallback, no_status
from handlers.journal import SentJournal
from handlers.messages import Channel
from handlers.stored_files import FileLoader, attach
from handlers.worker import Worker
from storage import people, queues, tickets
from storage.database import reading
from storage.models import Interaction, OutboxMessage
from storage.types import utcnow

logger = logging.getLogger(__name__)

# An edit or a button answer creates no new message for replies to quote.
_NOT_NEW = ("callback_answer", "edit")


@dataclass
class OutboxSender(Worker):
    """Drains the outbox: each chat's messages in order, chats side by side.

    A message accepted by its channel is noted in the journal at once (one write, nothing
    awaited in between) and marked sent in the database with the rest of its batch. After
    a crash the journal is applied first, so nothing it names goes out twice; only a kill
    inside the transport's own call, before the answer came back, can still repeat one.
    """

    sessions: async_sessionmaker[AsyncSession]
    transports: Mapping[Channel, Transport]
    journal: SentJournal | None = None
    max_attempts: int = 8
    concurrency: int = 8
    shares_loop: bool = True  # False when the sender has a process of its own
    on_chat_moved: Callable[[AsyncSession, str, str, str], Awaitable[None]] | None = None
    on_status: StatusCallback = no_status
    # Loads files a message names instead of holding (email attachments to forward).
    files: FileLoader | None = None
    sent_count: int = 0
    in_doubt: list[int] = field(default_factory=list)  # in flight at the last crash
    _accepted: dict[int, str | None] = field(default_factory=dict)  # sent, not yet marked

    async def run(self) -> None:
        """Send until stopped; a database failure is logged and retried, never fatal."""
        self.load_journal()
        failures = 0
        if self.in_doubt:
            await self._note_in_doubt()
        while not self._stopping:
            try:
                sent = await self.send_due()
                failures = 0
            except Exception:
                failures += 1
                logger.exception("sending from the outbox failed (%s in a row)", failures)
                await self._pause(min(30.0, 0.5 * 2**failures), until_wake=False)
                continue
            if not sent and not self._stopping:
                await self._sleep_until_due()

    def load_journal(self) -> int:
        """Take in what the journal says left before the last stop; the next batch marks it.

        Returns how many sends it names.
        """
        if self.journal is None:
            return 0
        entries = self.journal.entries()
        self._accepted.update(entries)
        if entries:
            logger.info("%s sends from before the restart will be marked sent", len(entries))
        self.in_doubt = self.journal.in_doubt()
        return len(entries)

    async def _note_in_doubt(self) -> None:
        """Say which messages were in flight at the crash: each may reach its chat twice."""
        async with self.sessions.begin() as session:
            query = select(OutboxMessage).where(
                OutboxMessage.id.in_(self.in_doubt), OutboxMessage.status == "pending"
            )
            for row in (await session.scalars(query)).all():
                row.last_error = "in flight at a crash: may be delivered twice"
                logger.warning(
                    "outbox message %s to %s %s was in flight when the sender died; "
                    "sending it again (the chat may see it twice)",
                    row.id, row.channel, row.chat_id,
                )  # fmt: skip

    async def send_due(self) -> int:
        """Send what is due now, then mark it sent; return how many were attempted."""
        await self._mark_accepted()  # left before a failure or a restart: mark, never resend
        # Sharing a process with the processor, read with a writer's session: on SQLite it
        # waits while the processor holds the lock, so messages go out between batches rather
        # than into an event loop busy with one, where their answers would wait unread and a
        # kill would send them twice. In a process of its own, read without waiting.
        reader = self.sessions() if self.shares_loop else reading(self.sessions)
        async with reader as session:
            due = await queues.due_outbox(session, list(self.transports), limit=200)
        # Accepted but not yet marked: already out, never to be sent again.
        batch = [message for message in due if message.id not in self._accepted]
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
        for message in batch:
            by_chat[(message.channel, message.chat_id)].append(message)

        limit = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(*(self._send_chat(chat, limit) for chat in by_chat.values()))
        await self._mark_accepted()
        return len(batch)

    async def _mark_accepted(self) -> None:
        if not self._accepted:
            return
        accepted = dict(self._accepted)
        async with self.sessions.begin() as session:
            await _mark_sent(session, accepted)
        for outbox_id in accepted:
            self._accepted.pop(outbox_id, None)
        if not self._accepted and self.journal is not None:
            self.journal.clear()
        self.sent_count += len(accepted)

    async def _sleep_until_due(self) -> None:
        async with reading(self.sessions) as session:
            due = await queues.next_outbox_due(session, list(self.transports))
        timeout = 5.0 if due is None else max(0.05, (due - utcnow()).total_seconds())
        await self._pause(min(timeout, 5.0))

    async def _send_chat(self, chat: Sequence[OutboxMessage], limit: asyncio.Semaphore) -> None:
        async with limit:
            for message in chat:
                if not await self._send_one(message):
                    return  # later messages to this chat wait behind the one that failed

    async def _send_one(self, message: OutboxMessage) -> bool:
        """Deliver one message; False when later messages to its chat must wait."""
        if self.journal is not None:
            self.journal.begin(message.id)
        accepted = False
        try:
            accepted, go_on = await self._deliver(message)
        finally:
            if self.journal is not None and not accepted:
                self.journal.settle(message.id)
        return go_on

    async def _deliver(self, message: OutboxMessage) -> tuple[bool, bool]:
        """(accepted by the channel, later messages to the chat may go)."""
        transport = self.transports[Channel(message.channel)]
        component = CHANNEL_COMPONENT.get(message.channel, message.channel)
        try:
            ref = await transport.deliver(await attach(from_payload(message), self.files))
        except RetryLater as exc:
            # Flood control is Telegram answering; a network failure is the channel down.
            self.on_status(component, exc.after is not None, str(exc))
            await self._retry(message, str(exc), exc.after, done=exc.done)
            return False, False
        except ChatMoved as exc:
            self.on_status(component, True, str(exc))
            await self._moved(message, exc.new_chat_id)
            return False, False
        except Unreachable as exc:
            self.on_status(component, True, "recipient unreachable")
            await self._give_up(message, str(exc), "unreachable")
            return False, True
        except Rejected as exc:
            self.on_status(component, True, "message refused")
            await self._give_up(message, str(exc), "failed")
            return False, True
        except Exception as exc:  # an unknown failure is treated as temporary, and logged
            logger.exception("sending outbox message %s failed", message.id)
            self.on_status(component, False, type(exc).__name__)
            await self._retry(message, f"{type(exc).__name__}: {exc}", None)
            return False, False
        # Journal first: nothing may be awaited between the channel's answer and this line.
        if self.journal is not None:
            self.journal.record(message.id, ref)
        self._accepted[message.id] = ref
        self.on_status(component, True, "sent")
        return True, True

    async def _retry(
        self, message: OutboxMessage, reason: str, after: float | None, *, done: int = 0
    ) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(OutboxMessage, message.id)
            if row is None:
                return
            if done:
                extra = dict(row.payload.get("extra", {}))
                extra[PIECES_SENT] = str(int(extra.get(PIECES_SENT, "0")) + done)
                row.payload = {**row.payload, "extra": extra}
            row.attempts += 1
            row.last_error = reason[:1000]
            if row.attempts >= self.max_attempts and after is None:
                row.status = "failed"
                await _set_outcome(session, {row.interaction_id: "failed"})
                logger.warning(
                    "gave up on outbox message %s after %s attempts: %s",
                    row.id, row.attempts, reason,
                )  # fmt: skip
                return
            delay = timedelta(seconds=after) if after is not None else queues.backoff(row.attempts)
            row.next_attempt_at = utcnow() + delay
        logger.info("outbox message %s delayed by %s: %s", message.id, delay, reason)

    async def _moved(self, message: OutboxMessage, new_chat_id: str) -> None:
        async with self.sessions.begin() as session:
            await queues.retarget_chat(session, message.channel, message.chat_id, new_chat_id)
            if self.on_chat_moved is not None:
                await self.on_chat_moved(session, message.channel, message.chat_id, new_chat_id)
        logger.warning(
            "chat %s moved to %s; pending messages follow it", message.chat_id, new_chat_id
        )

    async def _give_up(self, message: OutboxMessage, reason: str, outcome: str) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(OutboxMessage, message.id)
            if row is None:
                return
            row.status, row.last_error = "failed", reason[:1000]
            await _set_outcome(session, {row.interaction_id: outcome})
            newly = outcome == "unreachable" and await people.set_unreachable(
                session, row.channel, row.chat_id, unreachable=True
            )
        if newly:
            logger.warning(
                "recipient %s on %s is unreachable: %s", message.chat_id, message.channel, reason
            )
        elif outcome == "failed":
            logger.warning(
                "outbox message %s refused by %s: %s", message.id, message.channel, reason
            )


async def _mark_sent(session: AsyncSession, accepted: Mapping[int, str | None]) -> None:
    """Mark a batch of delivered messages sent, in a few statements whatever its size."""
    query = select(OutboxMessage).where(
        OutboxMessage.id.in_(list(accepted)), OutboxMessage.status == "pending"
    )
    rows = (await session.scalars(query)).all()
    if not rows:
        return
    now = utcnow()
    await session.execute(
        update(OutboxMessage),
        [
            {"id": row.id, "status": "sent", "sent_at": now, "sent_ref": accepted[row.id],
             "attempts": row.attempts + 1}
            for row in rows
        ],
    )  # fmt: skip
    await _set_outcome(session, {row.interaction_id: "delivered" for row in rows})
    for row in rows:
        await _remember(session, row, accepted[row.id])


async def _remember(session: AsyncSession, row: OutboxMessage, ref: str | None) -> None:
    purpose = row.payload.get("purpose", "reply")
    ticket_id = row.payload.get("ticket_id") or row.ticket_id
    if ref is not None and ticket_id is not None and purpose not in _NOT_NEW:
        await tickets.remember_message(session, ticket_id, row.channel, row.chat_id, ref, purpose)


async def _set_outcome(session: AsyncSession, outcomes: Mapping[int | None, str]) -> None:
    params = [{"id": key, "outcome": value} for key, value in outcomes.items() if key is not None]
    if params:
        await session.execute(update(Interaction), params)
