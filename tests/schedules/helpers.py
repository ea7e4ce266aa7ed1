"""Shared pieces of the scheduler tests: a clock moved by hand, people, outbox reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import people
from storage.models import Identity, Interaction, OutboxMessage, Person

Sessions = async_sessionmaker[AsyncSession]
WITA = ZoneInfo("Asia/Makassar")
STAFF_CHAT = ("telegram", "-100500")


class FakeClock:
    """A clock the test moves."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def local(text: str) -> datetime:
    """A local (WITA) time from `YYYY-MM-DD HH:MM`."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=WITA)


async def telegram_person(
    sessions: Sessions, user_id: str, name: str, *, email: str | None = None
) -> Person:
    """A person who has written to the bot on Telegram."""
    async with sessions() as session, session.begin():
        identity = await people.identify(session, "telegram", user_id, name)
        identity.person.email = email
        return identity.person


async def block(sessions: Sessions, user_id: str, moment: datetime) -> None:
    """The person blocked the bot (Telegram answered 403)."""
    async with sessions() as session, session.begin():
        identity = await people.find_identity(session, "telegram", user_id)
        assert identity is not None
        identity.unreachable_at = moment


async def outbox(sessions: Sessions) -> Sequence[OutboxMessage]:
    """Every queued message, oldest first."""
    async with sessions() as session:
        return (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()


async def report(sessions: Sessions, *, direction: str | None = None) -> Sequence[Interaction]:
    """Report rows, oldest first."""
    async with sessions() as session:
        query = select(Interaction).order_by(Interaction.id)
        if direction:
            query = query.where(Interaction.direction == direction)
        return (await session.scalars(query)).all()


async def identities(sessions: Sessions) -> Sequence[Identity]:
    """Every identity."""
    async with sessions() as session:
        return (await session.scalars(select(Identity))).all()
