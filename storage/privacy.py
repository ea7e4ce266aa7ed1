"""Personal data (UU PDP 27/2022): everything held about one person, and purging old texts.

Export gathers every row that names the person or was written by them. Purge blanks the
words (message texts, questions, flow details, raw updates, queued payloads, attachment
references) of rows older than the retention period and keeps the rows themselves, so the
E-learning report still counts every message, topic, outcome and ticket.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from storage.models import (
    Conversation,
    Identity,
    InboundUpdate,
    Interaction,
    OutboxMessage,
    Person,
    Ticket,
    TicketMessage,
)

logger = logging.getLogger(__name__)

PURGED = "[dihapus: masa simpan habis]"
HEADER_BYTES = 256 * 1024  # more header than any mailer writes; the rest is not read
# Who sent a stored raw input, per channel; a channel whose payload names its sender
# differently adds its reader here.
PayloadOwner = Callable[[dict[str, Any]], str | None]
PAYLOAD_OWNERS: dict[str, PayloadOwner] = {}


def telegram_owner(payload: dict[str, Any]) -> str | None:
    """The Telegram user id of an update's sender."""
    for key in ("message", "edited_message", "callback_query", "my_chat_member"):
        part = payload.get(key)
        sender = part.get("from") if isinstance(part, dict) else None
        if isinstance(sender, dict) and "id" in sender:
            return str(sender["id"])
    return None


def email_owner(payload: dict[str, Any]) -> str | None:
    """The From address of a stored raw email, read as the email decoder reads it."""
    # Only the header block is parsed: an export scans every stored email, some of them
    # large. Imported here so the storage layer loads without the mail adapter.
    from mail.parsing import parse_message

    encoded = payload.get("raw")
    if not isinstance(encoded, str):
        return None  # purged, or not a raw message
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return None
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=-1)
    head = raw[: end + 2] if end >= 0 else raw[:HEADER_BYTES]
    return parse_message(head[:HEADER_BYTES]).from_address


PAYLOAD_OWNERS["telegram"] = telegram_owner
PAYLOAD_OWNERS["email"] = email_owner


class PersonNotFound(LookupError):
    """No person matches what was given."""


async def find_person(session: AsyncSession, key: str) -> Person:
    """A person by id (`42`), channel address (`telegram:12345`) or email address."""
    key = key.strip()
    person: Person | None = None
    if key.isdigit():
        person = await session.get(Person, int(key))
    elif "@" in key:
        person = await session.scalar(select(Person).where(Person.email == key.lower()))
        person = person or await _by_address(session, "email", key)
    elif ":" in key:
        channel, _, external_id = key.partition(":")
        person = await _by_address(session, channel, external_id)
    if person is None:
        raise PersonNotFound(key)
    return person


async def _by_address(session: AsyncSession, channel: str, external_id: str) -> Person | None:
    query = select(Identity).where(
        Identity.channel == channel, Identity.external_id == external_id
    )
    identity = await session.scalar(query)
    return None if identity is None else await session.get(Person, identity.person_id)


def _row(obj: DeclarativeBase) -> dict[str, Any]:
    """A model row as JSON-ready values (times in ISO 8601, UTC)."""
    values: dict[str, Any] = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


async def export_person(session: AsyncSession, person: Person) -> dict[str, Any]:
    """Everything held about `person`, grouped by table."""
    identities = list(
        (await session.scalars(select(Identity).where(Identity.person_id == person.id))).all()
    )
    addresses = [(i.channel, i.external_id) for i in identities]
    tickets = list(
        (await session.scalars(select(Ticket).where(Ticket.requester_id == person.id))).all()
    )
    ticket_ids = [t.id for t in tickets]
    interactions = await session.scalars(
        select(Interaction)
        .where(or_(Interaction.person_id == person.id, Interaction.handler_person_id == person.id))
        .order_by(Interaction.id)
    )
    ticket_messages = await session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id.in_(ticket_ids))
    )
    conversations = await session.scalars(
        select(Conversation).where(Conversation.person_id == person.id)
    )
    return {
        "person": _row(person),
        "identities": [_row(i) for i in identities],
        "tickets": [_row(t) for t in tickets],
        "ticket_messages": [_row(m) for m in ticket_messages],
        "interactions": [_row(i) for i in interactions],
        "conversations": [_row(c) for c in conversations],
        "outbox": [_row(m) for m in await _outbox_to(session, addresses)],
        "inbound_updates": [_row(u) for u in await _inbound_from(session, addresses)],
    }


async def _outbox_to(
    session: AsyncSession, addresses: Iterable[tuple[str, str]]
) -> list[OutboxMessage]:
    found: list[OutboxMessage] = []
    for channel, external_id in addresses:
        query = select(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.chat_id == external_id
        )
        found += (await session.scalars(query.order_by(OutboxMessage.id))).all()
    return found


async def _inbound_from(
    session: AsyncSession, addresses: Iterable[tuple[str, str]]
) -> list[InboundUpdate]:
    # Raw inputs are read through each channel's own reader of their sender: a scan, but
    # an export is rare and the purge keeps this table short of old payloads.
    wanted = set(addresses)
    found: list[InboundUpdate] = []
    for channel in {channel for channel, _ in wanted}:
        owner = PAYLOAD_OWNERS.get(channel)
        if owner is None:
            logger.warning("no reader of %s inputs' senders: raw inputs not exported", channel)
            continue
        query = select(InboundUpdate).where(InboundUpdate.channel == channel)
        for row in (await session.scalars(query.order_by(InboundUpdate.id))).all():
            if isinstance(row.payload, dict) and (channel, owner(row.payload)) in wanted:
                found.append(row)
    return found


@dataclass
class PurgeCounts:
    """How many rows had their words removed, per table."""

    interactions: int = 0
    tickets: int = 0
    inbound_updates: int = 0
    outbox: int = 0
    conversations: int = 0

    def total(self) -> int:
        return sum(vars(self).values())


async def purge_before(session: AsyncSession, cutoff: datetime) -> PurgeCounts:
    """Blank message texts and attachments of rows older than `cutoff`; keep the rows.

    Open tickets keep their question (staff still work on them); pending input and output
    keep their payloads (they are still to be handled or sent).
    """
    counts = PurgeCounts()
    counts.interactions = await _count(
        session,
        update(Interaction)
        .where(Interaction.at < cutoff, Interaction.text != PURGED)
        .values(text=PURGED, attachments=null()),
    )
    counts.tickets = await _count(
        session,
        update(Ticket)
        .where(Ticket.created_at < cutoff, Ticket.status == "closed", Ticket.question != PURGED)
        .values(question=PURGED, details=null()),
    )
    counts.inbound_updates = await _count(
        session,
        update(InboundUpdate)
        .where(
            InboundUpdate.received_at < cutoff,
            InboundUpdate.status != "pending",
            InboundUpdate.error.is_distinct_from(PURGED),
        )
        .values(payload={}, error=PURGED),
    )
    counts.outbox = await _count(
        session,
        update(OutboxMessage)
        .where(
            OutboxMessage.created_at < cutoff,
            OutboxMessage.status != "pending",
            OutboxMessage.last_error.is_distinct_from(PURGED),
        )
        .values(payload={}, last_error=PURGED),
    )
    counts.conversations = await _count(
        session, delete(Conversation).where(Conversation.updated_at < cutoff)
    )
    return counts


async def _count(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
