"""People and their channel identities."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
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


async def identify_with_context(
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str,
    *,
    language: str = "id",
) -> Known:
    """`identify`, plus the person's open conversation and newest open ticket on the way."""
    newest_open = (
        select(func.max(Ticket.id))
        .where(Ticket.requester_id == Identity.person_id, Ticket.status.in_(OPEN_STATES))
        .correlate(Identity)
        .scalar_subquery()
    )
    query = (
        select(Identity, Conversation, newest_open)
        .outerjoin(
            Conversation,
            and_(
                Conversation.person_id == Identity.person_id,
                Conversation.channel == Identity.channel,
            ),
        )
        .where(Identity.channel == channel, Identity.external_id == external_id)
        .options(joinedload(Identity.person))
    )
    row = (await session.execute(query)).first()
    if row is None:
        return Known(
            await identify(session, channel, external_id, display_name, language=language)
        )
    identity, conversation, open_ticket_id = row
    _rename(identity, display_name)
    return Known(identity, conversation, open_ticket_id)


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
