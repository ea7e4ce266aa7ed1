"""Tickets, the messages that refer to them, and NUL-free text."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import interactions, people, tickets
from storage.models import Person

pytestmark = pytest.mark.db

Sessions = async_sessionmaker[AsyncSession]


async def _person(session: AsyncSession, external_id: str) -> Person:
    return (await people.identify(session, "telegram", external_id, f"User {external_id}")).person


async def _open(session: AsyncSession, requester: Person, question: str = "Lupa sandi") -> int:
    ticket = await tickets.open_ticket(
        session,
        requester_id=requester.id,
        channel="telegram",
        chat_id="42",
        question=question,
        topic="login",
    )
    return ticket.id


async def test_open_claim_respond_close(sessions: Sessions) -> None:
    async with sessions() as session:
        requester = await _person(session, "1")
        staff = await _person(session, "2")
        other_staff = await _person(session, "3")
        number = await _open(session, requester)
        await session.commit()

    async with sessions() as session:
        ticket = await tickets.get_ticket(session, number)
        assert ticket is not None
        assert ticket.status == "open"
        assert ticket.requester.display_name == "User 1"
        assert ticket.created_at.tzinfo is not None
        assert [t.id for t in await tickets.open_tickets(session)] == [number]

        tickets.record_response(ticket, staff.id)
        first_response = ticket.first_response_at
        assert ticket.status == "claimed"
        assert ticket.assignee_id == staff.id
        assert first_response is not None
        await session.commit()

        tickets.claim(ticket, other_staff.id)
        tickets.record_response(ticket, other_staff.id)
        await session.commit()

    async with sessions() as session:
        ticket = await tickets.get_ticket(session, number)
        assert ticket is not None
        assert ticket.first_response_at == first_response
        assert ticket.assignee is not None and ticket.assignee.id == other_staff.id
        assert ticket.claimed_at is not None and ticket.claimed_at <= ticket.updated_at

        tickets.close(ticket, staff.id)
        await session.commit()

    async with sessions() as session:
        ticket = await tickets.get_ticket(session, number)
        assert ticket is not None
        assert ticket.status == "closed"
        assert ticket.closed_at is not None
        assert ticket.assignee_id == other_staff.id
        assert await tickets.open_tickets(session) == []
        assert await tickets.latest_open_ticket(session, requester.id) is None


async def test_close_unclaimed_ticket_assigns_the_closer(sessions: Sessions) -> None:
    async with sessions() as session:
        requester = await _person(session, "1")
        staff = await _person(session, "2")
        ticket = await tickets.get_ticket(session, await _open(session, requester))
        assert ticket is not None

        tickets.close(ticket, staff.id)

    assert ticket.assignee_id == staff.id
    assert ticket.first_response_at is None


async def test_remember_message_and_ticket_for_message(sessions: Sessions) -> None:
    async with sessions() as session:
        requester = await _person(session, "1")
        number = await _open(session, requester)
        await tickets.remember_message(session, number, "telegram", "-100", "77", "ticket_card")
        await tickets.remember_message(session, number, "telegram", "42", "78", "ack")
        await session.commit()

    async with sessions() as session:
        found = await tickets.ticket_for_message(session, "telegram", "-100", "77")
        wrong_chat = await tickets.ticket_for_message(session, "telegram", "42", "77")
        cards = await tickets.card_refs(session, number)

    assert found is not None and found.id == number
    assert found.requester.id == requester.id
    assert wrong_chat is None
    assert [card.message_ref for card in cards] == ["77"]


async def test_one_message_remembered_by_two_transactions_at_once_is_one_row(
    sessions: Sessions,
) -> None:
    # A staff press records a card the sender is recording too, side by side.
    async with sessions.begin() as session:
        number = await _open(session, await _person(session, "1"))

    async def remember() -> None:
        async with sessions.begin() as other:
            await tickets.remember_message(other, number, "telegram", "-100", "77", "ticket_card")

    async with sessions.begin() as session:
        await tickets.remember_message(session, number, "telegram", "-100", "77", "ticket_card")
        second = asyncio.create_task(remember())
        await asyncio.sleep(0.3)  # the second waits for this one (row or write lock)
    await second
    await remember()  # and once more afterwards

    async with sessions() as session:
        cards = await tickets.card_refs(session, number)
    assert [(card.ticket_id, card.message_ref) for card in cards] == [(number, "77")]


async def test_tickets_of_returns_only_the_persons_own(sessions: Sessions) -> None:
    async with sessions() as session:
        alice = await _person(session, "1")
        bob = await _person(session, "2")
        first = await _open(session, alice)
        await _open(session, bob)
        second = await _open(session, alice)
        await session.commit()

        mine = await tickets.tickets_of(session, alice.id)
        latest = await tickets.latest_open_ticket(session, alice.id)
        limited = await tickets.tickets_of(session, alice.id, limit=1)

    assert [t.id for t in mine] == [second, first]
    assert latest is not None and latest.id == second
    assert [t.id for t in limited] == [second]


async def test_nul_is_removed_and_0x00_text_kept(sessions: Sessions) -> None:
    async with sessions() as session:
        requester = await _person(session, "1")
        number = await _open(session, requester, question="a\x00b 0x00")
        row = interactions.record(
            session,
            channel="telegram",
            direction="in",
            outcome="answered",
            text="c\x00d 0x00",
            person=requester,
        )
        await session.commit()

    async with sessions() as session:
        ticket = await tickets.get_ticket(session, number)
        stored = await interactions.by_ref(session, row.ref or "")

    assert ticket is not None and ticket.question == "ab 0x00"
    assert stored is not None and stored.text == "cd 0x00"
