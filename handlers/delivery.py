"""Delivering queued messages through a channel's transport, once each, in order per chat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import Button, Channel, Outbound
from storage import interactions, people, queues, tickets
from storage.models import OutboxMessage
from storage.types import utcnow

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A transport could not deliver a message."""


class RetryLater(DeliveryError):
    """A temporary refusal (flood control, a server briefly away); try again later."""

    def __init__(self, reason: str, *, after: float | None = None, done: int = 0) -> None:
        super().__init__(reason)
        self.after = after
        self.done = done  # pieces of a split message already delivered: not to send again


class Unreachable(DeliveryError):
    """The recipient refuses our messages for good (blocked the bot, address gone)."""


class ChatMoved(DeliveryError):
    """The chat has a new id (a group upgraded to a supergroup)."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Rejected(DeliveryError):
    """The channel refused this message for good (bad request); retrying cannot help."""


class Transport(Protocol):
    """What a channel adapter offers the sender."""

    channel: Channel

    async def deliver(self, outbound: Outbound) -> str | None:
        """Send one message; return its reference on the channel, if it has one."""


def to_payload(outbound: Outbound) -> dict[str, Any]:
    """The outbox form of a message (JSON-safe)."""
    return {
        "html": outbound.html,
        "buttons": [[[b.label, b.data] for b in row] for row in outbound.buttons],
        "reply_to_ref": outbound.reply_to_ref,
        "subject": outbound.subject,
        "purpose": outbound.purpose,
        "ticket_id": outbound.ticket_id,
        "extra": dict(outbound.extra),
    }


def from_payload(message: OutboxMessage) -> Outbound:
    """Rebuild the message stored in the outbox."""
    data = message.payload
    return Outbound(
        channel=Channel(message.channel),
        chat_id=message.chat_id,
        html=data["html"],
        buttons=tuple(
            tuple(Button(label, value) for label, value in row) for row in data.get("buttons", [])
        ),
        reply_to_ref=data.get("reply_to_ref"),
        subject=data.get("subject"),
        purpose=data.get("purpose", "reply"),
        ticket_id=data.get("ticket_id"),
        extra=dict(data.get("extra", {})),
    )


# How many pieces of a split message went out before a failure (kept in `extra`).
PIECES_SENT = "pieces_sent"
# An edit or a button answer creates no new message for replies to quote.
_NOT_NEW = ("callback_answer", "edit")


@dataclass
class OutboxSender:
    """Drains the outbox: each chat's messages in order, chats side by side.

    A message is marked sent right after its transport accepted it. A crash in between
    sends it again after the restart: a duplicate in that narrow window is preferred to a
    reply that never comes.
    """

    sessions: async_sessionmaker[AsyncSession]
    transports: Mapping[Channel, Transport]
    max_attempts: int = 8
    concurrency: int = 8
    on_chat_moved: Callable[[AsyncSession, str, str, str], Awaitable[None]] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False
    sent_count: int = 0

    def wake(self) -> None:
        """Something was queued: look now instead of at the next timer."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run`.

        Cancelling instead could fall between a send and its record, and the message
        would go out again after the restart.
        """
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Send until stopped; a database failure is logged and retried, never fatal."""
        failures = 0
        while not self._stopping:
            try:
                sent = await self.send_due()
                failures = 0
            except Exception:
                failures += 1
                logger.exception("sending from the outbox failed (%s in a row)", failures)
                await self._pause(min(30.0, 0.5 * 2**failures))
                continue
            if not sent and not self._stopping:
                await self._sleep_until_due()

    async def send_due(self) -> int:
        """Send what is due now; return how many messages were attempted."""
        async with self.sessions() as session:
            batch = await queues.due_outbox(session, list(self.transports), limit=200)
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
        for message in batch:
            by_chat[(message.channel, message.chat_id)].append(message)

        limit = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(*(self._send_chat(chat, limit) for chat in by_chat.values()))
        return len(batch)

    async def _sleep_until_due(self) -> None:
        async with self.sessions() as session:
            due = await queues.next_outbox_due(session, list(self.transports))
        timeout = 5.0 if due is None else max(0.05, (due - utcnow()).total_seconds())
        await self._pause(timeout)

    async def _pause(self, timeout: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=min(timeout, 5.0))

    async def _send_chat(self, chat: Sequence[OutboxMessage], limit: asyncio.Semaphore) -> None:
        async with limit:
            for message in chat:
                if not await self._send_one(message):
                    return  # later messages to this chat wait behind the one that failed

    async def _send_one(self, message: OutboxMessage) -> bool:
        outbound = from_payload(message)
        transport = self.transports[Channel(message.channel)]
        try:
            ref = await transport.deliver(outbound)
        except RetryLater as exc:
            await self._retry(message, str(exc), exc.after, done=exc.done)
            return False
        except ChatMoved as exc:
            await self._moved(message, exc.new_chat_id)
            return False
        except Unreachable as exc:
            await self._unreachable(message, str(exc))
            return True
        except Rejected as exc:
            await self._failed(message, str(exc))
            return True
        except Exception as exc:  # an unknown failure is treated as temporary, and logged
            logger.exception("sending outbox message %s failed", message.id)
            await self._retry(message, f"{type(exc).__name__}: {exc}", None)
            return False
        await self._sent(message, outbound, ref)
        return True

    async def _sent(self, message: OutboxMessage, outbound: Outbound, ref: str | None) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(OutboxMessage, message.id)
            if row is None:
                return
            row.status, row.sent_at, row.sent_ref = "sent", utcnow(), ref
            row.attempts += 1
            await _mark_interaction(session, row.interaction_id, "delivered")
            ticket_id = outbound.ticket_id or row.ticket_id
            if ref is not None and ticket_id is not None and outbound.purpose not in _NOT_NEW:
                await tickets.remember_message(
                    session, ticket_id, row.channel, row.chat_id, ref, outbound.purpose
                )
        self.sent_count += 1

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
                await _mark_interaction(session, row.interaction_id, "failed")
                logger.warning(
                    "gave up on outbox message %s after %s attempts: %s",
                    row.id,
                    row.attempts,
                    reason,
                )
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

    async def _unreachable(self, message: OutboxMessage, reason: str) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(OutboxMessage, message.id)
            if row is None:
                return
            row.status, row.last_error = "failed", reason[:1000]
            await _mark_interaction(session, row.interaction_id, "unreachable")
            changed = await people.set_unreachable(
                session, row.channel, row.chat_id, unreachable=True
            )
        if changed:
            logger.warning(
                "recipient %s on %s is unreachable: %s", message.chat_id, message.channel, reason
            )

    async def _failed(self, message: OutboxMessage, reason: str) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(OutboxMessage, message.id)
            if row is None:
                return
            row.status, row.last_error = "failed", reason[:1000]
            await _mark_interaction(session, row.interaction_id, "failed")
        logger.warning("outbox message %s refused by %s: %s", message.id, message.channel, reason)


async def _mark_interaction(
    session: AsyncSession, interaction_id: int | None, outcome: str
) -> None:
    if interaction_id is None:
        return
    row = await interactions.get(session, interaction_id)
    if row is not None:
        row.outcome = outcome
