"""Delivering queued messages through a channel's transport, once each, in order per chat."""

from __future__ import annotations

import base64
import logging
from typing import Any, Protocol

from handlers.messages import Button, Channel, Outbound, OutFile
from storage.models import OutboxMessage

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
        "files": [
            {
                "name": f.name,
                "mime_type": f.mime_type,
                "data": base64.b64encode(f.data).decode("ascii"),
                "inline_id": f.inline_id,
            }
            for f in outbound.files
        ],
        "email_html": outbound.email_html,
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
        ticket_id=data.get("ticket_id") or message.ticket_id,
        # The row's stable handle: a channel may build an idempotency key from it.
        extra={**data.get("extra", {}), **({OUTBOX_REF: message.ref} if message.ref else {})},
        files=tuple(
            OutFile(
                name=f["name"],
                mime_type=f["mime_type"],
                data=base64.b64decode(f["data"]),
                inline_id=f.get("inline_id"),
            )
            for f in data.get("files", [])
        ),
        email_html=data.get("email_html"),
    )


# The outbox row's `ref`, added to `extra` when a message is read back from the outbox.
OUTBOX_REF = "outbox_ref"
# How many pieces of a split message went out before a failure (kept in `extra`).
PIECES_SENT = "pieces_sent"
