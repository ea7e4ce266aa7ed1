"""People and their channel identities."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Person
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

    if identity.display_name != name:
        identity.display_name = name
    return identity


async def find_identity(session: AsyncSession, channel: str, external_id: str) -> Identity | None:
    """The identity with its person loaded, or None."""
    query = select(Identity).where(
        Identity.channel == channel, Identity.external_id == external_id
    )
    identity = (await session.scalars(query)).one_or_none()
    if identity is not None:
        await session.refresh(identity, ["person"])
    return identity


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
