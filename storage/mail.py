"""What the email channel keeps: mailbox positions, and lookups by Message-ID."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Interaction, MailboxState, OutboxMessage, Ticket, TicketMessage
from storage.tickets import get_ticket
from storage.types import utcnow

EMAIL = "email"


async def mailbox_state(session: AsyncSession, mailbox: str) -> MailboxState | None:
    """Where intake stands in `mailbox`, or None before the first fetch."""
    return await session.get(MailboxState, mailbox)


async def save_position(
    session: AsyncSession, mailbox: str, *, uidvalidity: int, last_uid: int
) -> None:
    """Remember the last UID stored (with its UIDVALIDITY); never moves backwards."""
    state = await session.get(MailboxState, mailbox)
    if state is None:
        session.add(MailboxState(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid))
        return
    if state.uidvalidity != uidvalidity:
        state.uidvalidity, state.last_uid = uidvalidity, last_uid
    else:
        state.last_uid = max(state.last_uid, last_uid)
    state.updated_at = utcnow()


async def ticket_for_refs(session: AsyncSession, refs: Sequence[str]) -> Ticket | None:
    """The ticket one of our emails named in `refs` was about (newest reference first).

    Message-IDs are unique worldwide, so the lookup ignores the recipient: a staff member may
    answer a copy that went to a colleague.
    """
    if not refs:
        return None
    query = select(TicketMessage.message_ref, TicketMessage.ticket_id).where(
        TicketMessage.channel == EMAIL, TicketMessage.message_ref.in_(list(refs))
    )
    found = {ref: ticket_id for ref, ticket_id in (await session.execute(query)).all()}
    for ref in reversed(refs):
        if ref in found:
            return await get_ticket(session, found[ref])
    return None


async def is_ours(session: AsyncSession, refs: Sequence[str]) -> bool:
    """Whether any of `refs` is the Message-ID of an email we sent."""
    if not refs:
        return False
    query = select(OutboxMessage.id).where(
        OutboxMessage.channel == EMAIL, OutboxMessage.sent_ref.in_(list(refs))
    )
    return (await session.scalars(query.limit(1))).first() is not None


async def thread_refs(session: AsyncSession, ticket_id: int, address: str) -> list[str]:
    """Our earlier emails about a ticket to `address`, oldest first (for References)."""
    query = (
        select(TicketMessage.message_ref)
        .where(
            TicketMessage.ticket_id == ticket_id,
            TicketMessage.channel == EMAIL,
            TicketMessage.chat_id == address,
        )
        .order_by(TicketMessage.id)
    )
    return list((await session.scalars(query)).all())


async def automatic_replies_since(session: AsyncSession, person_id: int, since: datetime) -> int:
    """Emails the bot (not staff) sent this person since `since`, this transaction's too."""
    query = select(func.count()).where(
        Interaction.channel == EMAIL,
        Interaction.direction == "out",
        Interaction.handled_by == "bot",
        Interaction.person_id == person_id,
        Interaction.at >= since,
    )
    stored = int((await session.scalar(query)) or 0)
    # The processor handles a batch without autoflush: count rows not yet written as well.
    unwritten = sum(
        1
        for row in session.new
        if isinstance(row, Interaction)
        and row.channel == EMAIL
        and row.direction == "out"
        and row.handled_by == "bot"
        and row.person is not None
        and row.person.id == person_id
    )
    return stored + unwritten
