"""People and their channel identities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import Conversation, Identity, Person, Ticket
from storage.tickets import OPEN_STATES
from storage.types import strip_nul, utcnow


async def identify(
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str,
    *,
    language: str = "id",
) -> Identity:
    """The identity for (channel, external_id), created with its person on first contact."""
    identity = await find_identity(session, channel, external_id)
    name = strip_nul(display_name)[:200] or external_id
    if identity is None:
        person = Person(display_name=name, language=language)
        identity = Identity(
            person=person, channel=channel, external_id=external_id, display_name=name
        )
        session.add(identity)
        await session.flush()
        return identity

    _rename(identity, display_name)
    return identity


def _rename(identity: Identity, display_name: str) -> None:
    name = strip_nul(display_name)[:200] or identity.external_id
    if identity.display_name != name:
        identity.display_name = name


@dataclass
class Known:
    """A sender with what the helpdesk holds open for them, read in one query."""

    identity: Identity
    conversation: Conversation | None = None
    open_ticket_id: int | None = None


def _context_query(channel: str, external_ids: Sequence[str]) -> Select[Any]:
    newest_open = (
        select(func.max(Ticket.id))
        .where(Ticket.requester_id == Identity.person_id, Ticket.status.in_(OPEN_STATES))
        .correlate(Identity)
        .scalar_subquery()
    )
    return (
        select(Identity, Conversation, newest_open)
        .outerjoin(
            Conversation,
            and_(
                Conversation.person_id == Identity.person_id,
                Conversation.channel == Identity.channel,
            ),
        )
        .where(Identity.channel == channel, Identity.external_id.in_(list(external_ids)))
        .options(joinedload(Identity.person))
    )


async def known_senders(
    session: AsyncSession, channel: str, external_ids: Sequence[str]
) -> dict[str, Known]:
    """`Known` for each of these senders seen before, read in one query (for a batch)."""
    rows = (await session.execute(_context_query(channel, external_ids))).all()
    return {
        identity.external_id: Known(identity, conversation, ticket_id)
        for identity, conversation, ticket_id in rows
    }


async def create_many(
    session: AsyncSession, channel: str, senders: Sequence[tuple[str, str, str]]
) -> dict[str, Known]:
    """New people for senders never seen, from (external id, name, language), in one flush."""
    created: dict[str, Known] = {}
    for external_id, display_name, language in senders:
        name = strip_nul(display_name)[:200] or external_id
        person = Person(display_name=name, language=language)
        identity = Identity(
            person=person, channel=channel, external_id=external_id, display_name=name
        )
        session.add(identity)
        created[external_id] = Known(identity)
    await session.flush()
    return created


async def identify_with_context(
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str,
    *,
    language: str = "id",
    known: Known | None = None,
) -> Known:
    """`identify`, plus the person's open conversation and newest open ticket on the way.

    `known` is what a batch read ahead for this sender (see `known_senders`), if anything.
    """
    if known is None:
        found = await known_senders(session, channel, [external_id])
        known = found.get(external_id)
    if known is None:
        identity = await identify(session, channel, external_id, display_name, language=language)
        return Known(identity)
    _rename(known.identity, display_name)
    return known


async def find_identity(session: AsyncSession, channel: str, external_id: str) -> Identity | None:
    """The identity with its person loaded, or None."""
    query = (
        select(Identity)
        .where(Identity.channel == channel, Identity.external_id == external_id)
        .options(joinedload(Identity.person))
    )
    return (await session.scalars(query)).one_or_none()


async def set_unreachable(
    session: AsyncSession, channel: str, external_id: str, *, unreachable: bool
) -> bool:
    """Mark or clear a channel refusing delivery; True when the mark changed."""
    identity = await find_identity(session, channel, external_id)
    if identity is None or (identity.unreachable_at is not None) == unreachable:
        return False
    identity.unreachable_at = utcnow() if unreachable else None
    return True


async def is_unreachable(session: AsyncSession, channel: str, external_id: str) -> bool:
    """Whether the channel has refused delivery to this address for good."""
    identity = await find_identity(session, channel, external_id)
    return identity is not None and identity.unreachable_at is not None
