"""Personal data (UU PDP 27/2022): everything held about one person, and purging old texts.

Export gathers every row that names the person or was written by them, and the activation
roster's rows about them, even for someone on the roster who never wrote. Purge blanks the
words (message texts, questions, flow details, raw updates, queued payloads, attachment
references) of rows older than the retention period and keeps the rows themselves, so the
E-learning report still counts every message, topic, outcome and ticket.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, func, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from storage.models import (
    ActivationCode,
    Conversation,
    Identity,
    InboundUpdate,
    Interaction,
    OutboxMessage,
    Person,
    RosterEntry,
    Ticket,
    TicketMessage,
)

logger = logging.getLogger(__name__)

PURGED = "[dihapus: masa simpan habis]"
# The key of an outbox payload's `extra` marking a message that carries a secret (an
# activation code): an export shows that it was sent and to whom, not its words.
SECRET = "secret"
HIDDEN = "[disembunyikan: berisi kode rahasia]"
# An activation code's hash and salt would let anyone try the million codes offline.
_CODE_SECRETS = frozenset({"code_hash", "salt"})
NIM_PREFIX = "nim:"
MAX_ID = 2**31 - 1  # a longer number (a 16-digit NIM) is no person id: PostgreSQL would refuse it
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


class AmbiguousKey(LookupError):
    """What was given names two different people (a person id that is also someone's NIM)."""


@dataclass
class Subject:
    """Whom an export is about: a person who wrote to the helpdesk, roster rows, or both."""

    person: Person | None
    roster: list[RosterEntry] = field(default_factory=list)

    def describe(self) -> str:
        """`person 7`, or `roster NIM/NIDN 2021010001` for someone who never wrote."""
        if self.person is not None:
            return f"person {self.person.id}"
        return "roster " + ", ".join(f"NIM/NIDN {entry.number}" for entry in self.roster)


async def find_subject(session: AsyncSession, key: str) -> Subject:
    """A person and their roster rows by id, channel address, email, NIM/NIDN or `nim:NIM`.

    Someone only on the activation roster (imported, never wrote) is found by the roster's
    email or NIM/NIDN, with no person.
    """
    key = key.strip()
    person: Person | None = None
    if not key.lower().startswith(NIM_PREFIX):
        try:
            person = await find_person(session, key)
        except PersonNotFound:
            person = None
    rows = await _roster_by_key(session, key)
    linked = {entry.person_id for entry in rows if entry.person_id is not None}
    if person is not None and key.isdigit() and any(e.person_id != person.id for e in rows):
        # Either reading could hand over a stranger's data.
        raise AmbiguousKey(
            f"{key!r} is a person id and also someone else's NIM/NIDN in the roster; "
            f"write nim:{key} for the roster, or the person's channel address"
        )
    if person is None and len(linked) > 1:
        ids = " and ".join(str(i) for i in sorted(linked))
        raise AmbiguousKey(f"{key!r} is on roster rows claimed by persons {ids}: export each")
    if person is None and linked:
        person = await session.get(Person, linked.pop())
    if person is None and not rows:
        raise PersonNotFound(key)
    return Subject(person, rows)


async def _roster_by_key(session: AsyncSession, key: str) -> list[RosterEntry]:
    if "@" in key:
        where = func.lower(RosterEntry.email) == key.lower()
    else:
        number = key[len(NIM_PREFIX) :] if key.lower().startswith(NIM_PREFIX) else key
        where = RosterEntry.number == number.strip().upper()
    return list((await session.scalars(select(RosterEntry).where(where))).all())


async def find_person(session: AsyncSession, key: str) -> Person:
    """A person by id (`42`), channel address (`telegram:12345`) or email address."""
    key = key.strip()
    person: Person | None = None
    if key.isdigit() and int(key) <= MAX_ID:
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


async def export_person(
    session: AsyncSession, person: Person | None, *, roster: Sequence[RosterEntry] = ()
) -> dict[str, Any]:
    """Everything held about `person` and the `roster` rows, grouped by table.

    The person's own roster rows (claimed, or at one of their email addresses) are added;
    `person` is None for someone known only from the roster.
    """
    identities = list(
        (await session.scalars(select(Identity).where(_is(Identity.person_id, person)))).all()
    )
    rows = await _roster_of(session, person, identities, roster)
    addresses = {(i.channel, i.external_id) for i in identities}
    addresses |= {("email", entry.email) for entry in rows if entry.email}
    if person is not None and person.email:
        addresses.add(("email", person.email))
    outbox = await _outbox_to(session, addresses)
    tickets = list(
        (await session.scalars(select(Ticket).where(_is(Ticket.requester_id, person)))).all()
    )
    ticket_messages = await session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id.in_([t.id for t in tickets]))
    )
    # The report rows of messages to the person's addresses count too: an activation code
    # mailed to a roster address is recorded under whoever asked for it.
    mailed = [m.interaction_id for m in outbox if m.interaction_id is not None]
    interactions = await session.scalars(
        select(Interaction)
        .where(
            or_(
                _is(Interaction.person_id, person),
                _is(Interaction.handler_person_id, person),
                Interaction.id.in_(mailed),
            )
        )
        .order_by(Interaction.id)
    )
    conversations = await session.scalars(
        select(Conversation).where(_is(Conversation.person_id, person))
    )
    return {
        "person": None if person is None else _row(person),
        "identities": [_row(i) for i in identities],
        "roster": [_row(entry) for entry in rows],
        "activation_codes": [_code_row(c) for c in await _codes(session, person, rows)],
        "tickets": [_row(t) for t in tickets],
        "ticket_messages": [_row(m) for m in ticket_messages],
        "interactions": [_row(i) for i in interactions],
        "conversations": [_row(c) for c in conversations],
        "outbox": [_outbox_row(m) for m in outbox],
        "inbound_updates": [_row(u) for u in await _inbound_from(session, addresses)],
    }


def _is(column: Any, person: Person | None) -> Any:
    """`column` names the person; never true without one (NULL is nobody, not them)."""
    return false() if person is None else column == person.id


async def _roster_of(
    session: AsyncSession,
    person: Person | None,
    identities: Sequence[Identity],
    given: Sequence[RosterEntry],
) -> list[RosterEntry]:
    found = {entry.id: entry for entry in given}
    if person is not None:
        emails = {i.external_id.lower() for i in identities if i.channel == "email"}
        emails |= {person.email.lower()} if person.email else set()
        query = select(RosterEntry).where(
            or_(RosterEntry.person_id == person.id, func.lower(RosterEntry.email).in_(emails))
        )
        found.update({entry.id: entry for entry in (await session.scalars(query)).all()})
    return sorted(found.values(), key=lambda entry: entry.id)


async def _codes(
    session: AsyncSession, person: Person | None, rows: Sequence[RosterEntry]
) -> list[ActivationCode]:
    query = select(ActivationCode).where(
        or_(
            ActivationCode.roster_id.in_([entry.id for entry in rows]),
            _is(ActivationCode.person_id, person),
        )
    )
    return list((await session.scalars(query.order_by(ActivationCode.id))).all())


def _code_row(code: ActivationCode) -> dict[str, Any]:
    """When a code was made, tried and used up; never what could recover the code."""
    return {key: value for key, value in _row(code).items() if key not in _CODE_SECRETS}


def _outbox_row(message: OutboxMessage) -> dict[str, Any]:
    values = _row(message)
    payload = message.payload
    if isinstance(payload, dict) and payload.get("extra", {}).get(SECRET):
        words = ("html", "email_html", "files")
        values["payload"] = {k: v for k, v in payload.items() if k not in words}
        values["payload"]["html"] = HIDDEN
    return values


async def _outbox_to(
    session: AsyncSession, addresses: Iterable[tuple[str, str]]
) -> list[OutboxMessage]:
    found: dict[int, OutboxMessage] = {}
    for channel, external_id in addresses:
        query = select(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.chat_id == external_id
        )
        found.update({m.id: m for m in (await session.scalars(query)).all()})
    return [found[key] for key in sorted(found)]


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
