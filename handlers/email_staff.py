"""Staff by email: copies of ticket messages to `mail.staff_addresses`, and staff notices."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config import HelpdeskConfig
from handlers.delivery import to_payload
from handlers.markup import fmt, shorten
from handlers.messages import Channel, Outbound
from handlers.stored_files import FileRef, to_extra
from handlers.turn import STAFF_CHAT_KEY, Turn
from storage import kv, queues
from storage.models import Ticket

logger = logging.getLogger(__name__)

# Not "ticket_card": cards are edited in place on Telegram, emails cannot be.
STAFF_COPY = "staff_copy"


async def copy_to_staff(
    turn: Turn, html: str, ticket: Ticket, *, files: Sequence[FileRef] = ()
) -> None:
    """Send what the staff group gets about a ticket to the staff addresses as well.

    A staff member's reply to this email comes back through intake and finds the ticket by
    its In-Reply-To, whichever staff member answers. `files` go with it as attachments.
    """
    rules = turn.config.email
    if rules is None or not rules.staff_addresses:
        return
    if not rules.sends:
        logger.warning(
            "ticket #%s not copied to mail.staff_addresses: no email transport (smtp.host)",
            ticket.id,
        )
        return
    subject = f"[#{ticket.id}] {shorten(ticket.question.replace(chr(10), ' '), 70)}"
    for address in rules.staff_addresses:
        if turn.inbound.channel == Channel.EMAIL and address == turn.inbound.sender.external_id:
            continue  # the staff member wrote it: no copy of their own words
        outbound = Outbound(
            channel=Channel.EMAIL,
            chat_id=address,
            html=html,
            subject=subject,
            purpose=STAFF_COPY,
            ticket_id=ticket.id,
            extra=to_extra(files),
        )
        await turn.send(outbound, to=None, topic=ticket.topic, ticket=ticket)


async def notify_staff(
    session: AsyncSession,
    config: HelpdeskConfig,
    html: str,
    *,
    by_email: bool = True,
    files: Sequence[FileRef] = (),
) -> int:
    """Queue a notice to the staff group and (optionally) the staff addresses; returns how many.

    For what is not about one ticket: intake stalled or back, an email refused for good, a
    workflow owner's note. `files` are attached by email and follow one by one on Telegram.
    """
    targets: list[tuple[Channel, str]] = []
    if config.staff_chat is not None:
        channel, chat_id = config.staff_chat
        moved = await kv.get(session, f"{channel}.{STAFF_CHAT_KEY}")
        targets.append((Channel(channel), moved or chat_id))
    if by_email and config.email is not None and config.sends_email:
        targets += [(Channel.EMAIL, address) for address in config.email.staff_addresses]
    elif by_email and config.email is not None and config.email.staff_addresses:
        logger.warning("notice not mailed to mail.staff_addresses: no email transport (smtp.host)")
    if not targets:
        logger.warning("no staff group or staff address to tell: %s", html)
    for channel, chat_id in targets:
        outbound = Outbound(
            channel=channel,
            chat_id=chat_id,
            html=html,
            purpose="notice",
            subject="Helpdesk E-learning: pemberitahuan sistem",
            extra=to_extra(files) if channel == Channel.EMAIL else {},
        )
        queues.enqueue(session, channel, chat_id, to_payload(outbound))
        if channel == Channel.EMAIL:
            continue
        for file in files:  # one a message: a retry then repeats no other file
            one = replace(outbound, html=fmt("📎 {}", file.name), extra=to_extra([file]))
            queues.enqueue(session, channel, chat_id, to_payload(one))
    return len(targets)
