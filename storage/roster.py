"""The activation roster: students and lecturers staff import, and who has claimed a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ActivationCode, RosterEntry
from storage.types import utcnow


@dataclass(frozen=True)
class RosterRow:
    """A checked roster line, ready to store."""

    number: str
    role: str
    name: str
    email: str | None
    programme: str


async def upsert(session: AsyncSession, rows: Sequence[RosterRow]) -> tuple[int, int]:
    """Insert new rows and update known ones (by number); returns (added, updated)."""
    numbers = [row.number for row in rows]
    query = select(RosterEntry).where(RosterEntry.number.in_(numbers))
    known = {entry.number: entry for entry in (await session.scalars(query)).all()}
    added = updated = 0
    now = utcnow()
    for row in rows:
        entry = known.get(row.number)
        if entry is None:
            entry = RosterEntry(number=row.number, imported_at=now)
            session.add(entry)
            known[row.number] = entry
            added += 1
        else:
            updated += 1
        entry.role, entry.name, entry.email = row.role, row.name, row.email
        entry.programme, entry.updated_at = row.programme, now
    await session.flush()
    return added, updated


async def by_number(session: AsyncSession, number: str) -> RosterEntry | None:
    """The roster row for a NIM or NIDN, or None."""
    query = select(RosterEntry).where(RosterEntry.number == number)
    return (await session.scalars(query)).one_or_none()


async def of_person(session: AsyncSession, person_id: int) -> RosterEntry | None:
    """The roster row a person has claimed, or None."""
    query = select(RosterEntry).where(RosterEntry.person_id == person_id).limit(1)
    return (await session.scalars(query)).first()


async def get(session: AsyncSession, entry_id: int) -> RosterEntry | None:
    """A roster row by id."""
    return await session.get(RosterEntry, entry_id)


async def add_code(
    session: AsyncSession,
    *,
    roster_id: int,
    person_id: int,
    code_hash: str,
    salt: str,
    expires_at: datetime,
) -> ActivationCode:
    """Store a new code; earlier unused codes of this person for this row stop working."""
    earlier = select(ActivationCode).where(
        ActivationCode.person_id == person_id,
        ActivationCode.roster_id == roster_id,
        ActivationCode.used_at.is_(None),
    )
    now = utcnow()
    for old in (await session.scalars(earlier)).all():
        old.used_at = now
    code = ActivationCode(
        roster_id=roster_id,
        person_id=person_id,
        code_hash=code_hash,
        salt=salt,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(code)
    await session.flush()
    return code


async def live_code(session: AsyncSession, person_id: int) -> ActivationCode | None:
    """The person's newest code not yet used up (it may have expired)."""
    query = (
        select(ActivationCode)
        .where(ActivationCode.person_id == person_id, ActivationCode.used_at.is_(None))
        .order_by(ActivationCode.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def codes_since(
    session: AsyncSession, *, person_id: int, roster_id: int, window: timedelta
) -> tuple[int, int]:
    """Codes made in the last `window`: (for this person, for this roster row)."""
    since = utcnow() - window
    mine = select(func.count()).where(
        ActivationCode.person_id == person_id, ActivationCode.created_at >= since
    )
    theirs = select(func.count()).where(
        ActivationCode.roster_id == roster_id, ActivationCode.created_at >= since
    )
    return int(await session.scalar(mine) or 0), int(await session.scalar(theirs) or 0)
