"""Report cells formatted by the database, and the Python path for zones that shift."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import people, tickets
from storage.models import Interaction
from storage.report_cells import fixed_offset, report_cells

Sessions = async_sessionmaker[AsyncSession]
BERLIN = ZoneInfo("Europe/Berlin")  # daylight saving from 29 March 2026
MAKASSAR = ZoneInfo("Asia/Makassar")


def test_fixed_offset_only_when_the_zone_keeps_one() -> None:
    year = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    assert fixed_offset(MAKASSAR, *year) is not None
    assert fixed_offset(MAKASSAR, *year).total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert fixed_offset(BERLIN, *year) is None
    winter = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    assert fixed_offset(BERLIN, *winter) is not None


@pytest.mark.db
@pytest.mark.parametrize("zone", [MAKASSAR, BERLIN])
async def test_cells_are_the_same_whichever_path(sessions: Sessions, zone: ZoneInfo) -> None:
    async with sessions() as session, session.begin():
        person = (await people.identify(session, "telegram", "1", "=Ani")).person
        ticket = await tickets.open_ticket(
            session, requester_id=person.id, channel="telegram", chat_id="1", question="?",
            topic=None,
        )  # fmt: skip
        for at, text, who in [
            (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "-1 sebelum", person.id),
            (datetime(2026, 3, 30, 12, 0, tzinfo=UTC), "sesudah", None),
        ]:
            session.add(
                Interaction(
                    at=at, channel="telegram", direction="in", person_id=who, role=None,
                    topic=None, text=text, ticket_id=ticket.id if who else None,
                    handled_by="bot", outcome="answered",
                )
            )  # fmt: skip
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    async with sessions() as session:
        rows = [tuple(r) async for batch in report_cells(session, start, end, zone) for r in batch]

    hours = (13, 14) if zone is BERLIN else (20, 20)
    assert rows == [
        (f"2026-03-28 {hours[0]}:00:00", "telegram", "in", "'=Ani", "", "", "'-1 sebelum",
         f"#{ticket.id}", "bot", "answered"),
        (f"2026-03-30 {hours[1]}:00:00", "telegram", "in", "", "", "", "sesudah", "", "bot",
         "answered"),
    ]  # fmt: skip
