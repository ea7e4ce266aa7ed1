"""Tickets and the messages that refer to them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.database import insert_for
from storage.models import Ticket, TicketMessage
from storage.types import strip_nul, utcnow

OPEN_STATES = ("open", "claimed")


async def open_ticket(
    session: AsyncSession,
    *,
    requester_id: int,
    channel: str,
    chat_id: str,
    question: str,
    topic: str | None,
) -> Ticket:
    """A new open ticket; its id is the number the user quotes."""
    ticket = Ticket(
        requester_id=requester_id,
        channel=channel,
        chat_id=chat_id,
        question=strip_nul(question),
        topic=topic,
    )
    session.add(ticket)
    await session.flush()
    await session.refresh(ticket, ["requester"])
    return ticket


async def get_ticket(session: AsyncSession, number: int) -> Ticket | None:
    """The ticket with its requester and assignee, or None."""
    query = (
        select(Ticket)
        .where(Ticket.id == number)
        .options(selectinload(Ticket.requester), selectinload(Ticket.assignee))
    )
    return (await session.scalars(query)).one_or_none()


async def tickets_of(
    session: AsyncSession, person_id: int, *, limit: int = 10
) -> Sequence[Ticket]:
    """A person's most recent tickets, newest first."""
    query = (
        select(Ticket)
        .where(Ticket.requester_id == person_id)
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def open_tickets(session: AsyncSession, *, limit: int = 30) -> Sequence[Ticket]:
    """Tickets still waiting or in hand, oldest first."""
    query = (
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATES))
        .options(selectinload(Ticket.requester))
        .order_by(Ticket.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def latest_open_ticket(session: AsyncSession, person_id: int) -> Ticket | None:
    """The person's newest ticket that is not closed."""
    query = (
        select(Ticket)
        .where(Ticket.requester_id == person_id, Ticket.status.in_(OPEN_STATES))
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).one_or_none()


def claim(ticket: Ticket, staff_id: int) -> None:
    """Put the ticket in a staff member's hands."""
    now = utcnow()
    ticket.status = "claimed"
    ticket.assignee_id = staff_id
    ticket.claimed_at = ticket.claimed_at or now
    ticket.updated_at = now


def record_response(ticket: Ticket, staff_id: int) -> None:
    """A staff answer went out: the first one counts for the time to first response."""
    now = utcnow()
    ticket.first_response_at = ticket.first_response_at or now
    if ticket.status == "open":
        claim(ticket, staff_id)
    ticket.updated_at = now


def close(ticket: Ticket, staff_id: int) -> None:
    """Close the ticket."""
    now = utcnow()
    ticket.status = "closed"
    ticket.assignee_id = ticket.assignee_id or staff_id
    ticket.closed_at = now
    ticket.updated_at = now


async def remember_message(
    session: AsyncSession, ticket_id: int, channel: str, chat_id: str, ref: str, purpose: str
) -> None:
    """Tie a message we sent to its ticket, so a reply quoting it finds the ticket.

    The sender records a message once it is delivered, and a staff press on a card may
    record that card first: whichever comes second adds nothing, even when the two are
    in transactions running side by side (PostgreSQL).
    """
    row = {
        "ticket_id": ticket_id,
        "channel": channel,
        "chat_id": chat_id,
        "message_ref": ref,
        "purpose": purpose,
    }
    statement = (
        insert_for(session, TicketMessage)
        .values(row)
        .on_conflict_do_nothing(index_elements=["channel", "chat_id", "message_ref"])
    )
    await session.execute(statement)


async def ticket_for_message(
    session: AsyncSession, channel: str, chat_id: str, ref: str
) -> Ticket | None:
    """The ticket a message of ours was about, or None."""
    query = select(TicketMessage.ticket_id).where(
        TicketMessage.channel == channel,
        TicketMessage.chat_id == chat_id,
        TicketMessage.message_ref == ref,
    )
    number = (await session.scalars(query)).first()
    return None if number is None else await get_ticket(session, number)


async def card_refs(session: AsyncSession, ticket_id: int) -> Sequence[TicketMessage]:
    """The staff-group cards shown for a ticket (to update their buttons)."""
    query = select(TicketMessage).where(
        TicketMessage.ticket_id == ticket_id, TicketMessage.purpose == "ticket_card"
    )
    return (await session.scalars(query)).all()
