"""Messages the helpdesk starts itself: to a person (Telegram if reachable, else email) or
to the staff group, each queued through the outbox with its report row."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.delivery import to_payload
from handlers.markup import to_plain
from handlers.messages import Button, Channel, Outbound
from handlers.turn import STAFF_CHAT_KEY
from storage import interactions, kv, queues
from storage.models import Identity, Person

logger = logging.getLogger(__name__)

Buttons = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Address:
    """Where a person can be reached now."""

    channel: Channel
    chat_id: str


async def address_of(session: AsyncSession, person: Person) -> Address | None:
    """Telegram when the person has a reachable Telegram identity, else an email address."""
    query = select(Identity).where(Identity.person_id == person.id).order_by(Identity.id)
    found = (await session.scalars(query)).all()
    for channel in (Channel.TELEGRAM, Channel.EMAIL):
        for identity in found:
            if identity.channel == channel and identity.unreachable_at is None:
                return Address(channel, identity.external_id)
    if person.email:
        return Address(Channel.EMAIL, person.email)
    return None


async def to_person(
    session: AsyncSession,
    person: Person,
    html: str,
    *,
    subject: str,
    email: bool,
    buttons: Buttons = (),
    topic: str | None = None,
) -> bool:
    """Queue a message to `person`; False when they cannot be reached on any channel.

    `email`: whether mail can leave; without it an email would wait in the outbox for ever.
    """
    address = await address_of(session, person)
    if address is not None and address.channel == Channel.EMAIL and not email:
        logger.warning(
            "person %s is reachable only by email and no email transport is configured "
            "(smtp.host); message not queued",
            person.id,
        )
        return False
    if address is None:
        logger.warning("person %s has no reachable channel; message not queued", person.id)
        return False
    outbound = Outbound(
        channel=address.channel,
        chat_id=address.chat_id,
        html=html,
        # An email cannot press a button; its text tells the reader what to do instead.
        buttons=buttons if address.channel != Channel.EMAIL else (),
        subject=subject,
        purpose="notice",
    )
    _queue(session, outbound, person=person, topic=topic)
    return True


async def staff_chat(session: AsyncSession, configured: tuple[str, str] | None) -> Address | None:
    """The staff group, following a chat id that moved (a group upgraded to a supergroup)."""
    if configured is None:
        return None
    channel, chat_id = configured
    moved = await kv.get(session, f"{channel}.{STAFF_CHAT_KEY}")
    return Address(Channel(channel), moved or chat_id)


async def to_staff(
    session: AsyncSession,
    configured: tuple[str, str] | None,
    html: str,
    *,
    buttons: Buttons = (),
    topic: str | None = None,
) -> bool:
    """Queue a message to the staff group; False (and a WARNING) when none is configured."""
    address = await staff_chat(session, configured)
    if address is None:
        logger.warning("no staff group configured (telegram.staff_chat_id); notice dropped")
        return False
    outbound = Outbound(
        channel=address.channel, chat_id=address.chat_id, html=html, buttons=buttons
    )
    _queue(session, outbound, person=None, topic=topic)
    return True


def to_address(
    session: AsyncSession, outbound: Outbound, *, person: Person | None, topic: str | None
) -> None:
    """Queue an already addressed message (the digest's emails) with its report row."""
    _queue(session, outbound, person=person, topic=topic)


def event(
    session: AsyncSession,
    outcome: str,
    text: str,
    *,
    person: Person | None = None,
    topic: str | None = None,
    handled_by: str = "bot",
) -> None:
    """A report row for something that happened without a message (a workflow transition)."""
    interactions.record(
        session,
        channel="system",
        direction="event",
        outcome=outcome,
        text=text,
        person=person,
        topic=topic,
        handled_by=handled_by,
    )


def rows_of(buttons: Sequence[Sequence[tuple[str, str]]]) -> Buttons:
    """Buttons from their stored [label, data] form."""
    return tuple(tuple(Button(label, data) for label, data in row) for row in buttons)


def _queue(
    session: AsyncSession, outbound: Outbound, *, person: Person | None, topic: str | None
) -> None:
    row = interactions.record(
        session,
        channel=outbound.channel,
        direction="out",
        outcome="queued",
        text=to_plain(outbound.html),
        person=person,
        topic=topic,
    )
    queues.enqueue(
        session, outbound.channel, outbound.chat_id, to_payload(outbound), interaction=row
    )
