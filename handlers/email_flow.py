"""Email before the common handling: loop and noise rules, bounces, staff replies by email.

`intercept` returns True when it has dealt with the message; otherwise the helpdesk
handles it like any other question (knowledge-base answer or ticket).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import tickets as ticket_flow
from handlers import workflow_chat
from handlers.email_staff import notify_staff
from handlers.email_texts import email_text
from handlers.flows import entry as flows
from handlers.markup import shorten
from handlers.messages import Channel, Inbound, MailInfo
from handlers.turn import Turn
from storage import interactions, people, tickets
from storage import mail as mail_store
from storage.models import Ticket
from storage.types import utcnow

if TYPE_CHECKING:
    from handlers.service import Helpdesk

logger = logging.getLogger(__name__)

TICKET_TAG = re.compile(r"\[#(\d{1,9})\]")
NOTE_CHARS = 1500


async def screen(helpdesk: Helpdesk, session: AsyncSession, inbound: Inbound) -> bool:
    """Mail that creates no person: no readable sender, delivery reports, our own mail."""
    mail = inbound.mail
    assert mail is not None
    if mail.address is None:
        await _no_sender(helpdesk, session, inbound, mail)
        return True
    if mail.kind == "bounce":
        await _bounce(helpdesk, session, inbound, mail)
        return True
    if mail.kind == "own":
        _log_unattached(session, inbound, "own_mail")
        logger.info("email %s from our own address ignored", mail.message_id)
        return True
    return False


async def intercept(helpdesk: Helpdesk, turn: Turn) -> bool:
    """Deal with what must not get the ordinary answer; False lets the helpdesk answer."""
    inbound, session = turn.inbound, turn.session
    mail = inbound.mail
    assert mail is not None
    ticket = await _referenced_ticket(turn, mail)
    if mail.kind == "auto_reply":
        await _auto_reply(turn, ticket)
        return True
    if mail.kind == "bulk":
        await turn.log_in("bulk")
        logger.info("bulk email %s logged, not answered: %s", mail.message_id, mail.reason)
        return True
    if turn.is_staff and ticket is not None:
        await ticket_flow.staff_reply(turn, ticket)
        return True
    own_ticket = ticket if ticket is not None and ticket.requester_id == turn.person.id else None
    reason = mail.reason if not mail.may_auto_reply else await _over_limit(turn)
    if reason is not None:
        await _to_staff_quietly(turn, own_ticket, reason)
        return True
    # After the limit on automatic replies: a refusal to a stranger is one of them.
    step = workflow_chat.done_by_reply(inbound.subject, inbound.text)
    if step is not None:
        await workflow_chat.done_by_email(turn, *step, helpdesk.schedule)
        return True
    if own_ticket is not None and own_ticket.status != "closed":
        await ticket_flow.follow_up(turn, own_ticket)
        return True
    if ticket is None and await mail_store.is_ours(session, mail.references):
        # An answer to the bot's answer: a guided flow's form (or NIM, code) goes to the
        # flow that asked for it; anything else means the answer did not help.
        if turn.conversation is not None and inbound.text and await flows.on_text(turn):
            return True
        await helpdesk.answers.hand_over(turn, inbound.text or inbound.subject or "-")
        return True
    # Email has no buttons to pick a topic or ask for staff: when the knowledge base has
    # no answer, a person takes the question at once.
    if _plain_question(turn) and helpdesk.answers.matcher.match(inbound.text).topic is None:
        await helpdesk.answers.hand_over(turn, inbound.text)
        return True
    return False


def _plain_question(turn: Turn) -> bool:
    inbound = turn.inbound
    return bool(inbound.text) and not inbound.attachments and turn.conversation is None


async def _referenced_ticket(turn: Turn, mail: MailInfo) -> Ticket | None:
    ticket = await mail_store.ticket_for_refs(turn.session, mail.references)
    if ticket is None:
        # Some clients drop the headers; the subject tag still names the ticket, but only
        # its requester or staff may use it (a stranger typing [#12] reaches nobody's ticket).
        found = TICKET_TAG.search(turn.inbound.subject or "")
        if found is None:
            return None
        ticket = await tickets.get_ticket(turn.session, int(found.group(1)))
        if ticket is None:
            return None
    if not (turn.is_staff or ticket.requester_id == turn.person.id):
        # Answering a ticket is a staff power: this mail is the sender's own question.
        logger.warning(
            "refused: email from %s refers to ticket #%s, which is not theirs, and they are "
            "not staff; handled as their own message",
            turn.inbound.sender.external_id, ticket.id,
        )  # fmt: skip
        return None
    return ticket


async def _over_limit(turn: Turn) -> str | None:
    # Known shortcoming: a guided flow's form answers count too, so a person who needs more
    # than two rounds of corrections within the window reaches staff as a plain ticket.
    rules = turn.config.email
    if rules is None:
        return None
    since = utcnow() - rules.auto_reply_window
    sent = await mail_store.automatic_replies_since(turn.session, turn.person.id, since)
    if sent < rules.auto_reply_limit:
        return None
    logger.warning(
        "automatic replies to %s paused: %s in the last %s",
        turn.inbound.sender.external_id, sent, rules.auto_reply_window,
    )  # fmt: skip
    return f"batas {rules.auto_reply_limit} balasan otomatis tercapai"


async def _to_staff_quietly(turn: Turn, ticket: Ticket | None, reason: str) -> None:
    """Mail that may not be answered automatically but looks human: staff see it, logged."""
    inbound = turn.inbound
    ticket = ticket or await turn.open_ticket()
    values = {
        "name": turn.person.display_name,
        "address": inbound.sender.external_id,
        "reason": reason,
        "text": shorten(inbound.text or inbound.subject or "-", ticket_flow.CARD_QUESTION_CHARS),
    }
    if ticket is not None and ticket.status != "closed":
        await turn.log_in("forwarded_quietly", topic=ticket.topic, ticket=ticket)
        notice = email_text("quiet_followup", number=ticket.id, **values)
        await ticket_flow._to_staff(turn, notice, ticket, copy=bool(inbound.attachments))
        return
    question = inbound.text or inbound.subject or "-"
    ticket = await tickets.open_ticket(
        turn.session,
        requester_id=turn.person.id,
        channel=inbound.channel,
        chat_id=inbound.chat_id,
        question=question,
        topic=None,
    )
    await turn.log_in("escalated_quietly", ticket=ticket)
    notice = email_text("quiet_card", number=ticket.id, **values)
    await ticket_flow._to_staff(
        turn,
        notice,
        ticket,
        buttons=ticket_flow.card_buttons(ticket),
        purpose="ticket_card",
        copy=bool(inbound.attachments),
    )
    logger.info("ticket #%s opened from email without an automatic reply: %s", ticket.id, reason)


async def _auto_reply(turn: Turn, ticket: Ticket | None) -> None:
    """An out-of-office answer: noted on the ticket it refers to, which stays as it is."""
    await turn.log_in("auto_reply", ticket=ticket)
    if ticket is None:
        return
    interactions.record(
        turn.session,
        channel=Channel.EMAIL,
        direction="event",
        outcome="auto_reply_note",
        text=shorten(
            email_text(
                "auto_reply_note",
                address=turn.inbound.sender.external_id,
                number=ticket.id,
                text=turn.inbound.text or turn.inbound.subject or "",
            ),
            NOTE_CHARS,
        ),
        person=ticket.requester,
        ticket=ticket,
    )


async def _bounce(
    helpdesk: Helpdesk, session: AsyncSession, inbound: Inbound, mail: MailInfo
) -> None:
    """A delivery failure report: no ticket, no reply; its ticket gets a note (C17, C24)."""
    refs = [*mail.references, *([mail.report_original_id] if mail.report_original_id else [])]
    ticket = await mail_store.ticket_for_refs(session, refs)
    for address in mail.report_recipients:
        if await people.set_unreachable(session, Channel.EMAIL, address, unreachable=True):
            logger.warning("email address %s marked undeliverable (bounce)", address)
    failed = ", ".join(mail.report_recipients) or "?"
    interactions.record(
        session,
        channel=Channel.EMAIL,
        direction="in",
        outcome="bounce",
        text=shorten(f"[bounce {failed}] {inbound.subject or ''}\n{inbound.text}", NOTE_CHARS),
        person=ticket.requester if ticket is not None else None,
        ticket=ticket,
    )
    logger.info(
        "delivery report %s for %s (ticket %s)", mail.message_id, failed, ticket and ticket.id
    )
    if ticket is None:
        return
    note = email_text("bounce_note", number=ticket.id, addresses=failed)
    interactions.record(
        session,
        channel=Channel.EMAIL,
        direction="event",
        outcome="bounce_note",
        text=note,
        person=ticket.requester,
        ticket=ticket,
    )
    await notify_staff(session, helpdesk.config, note)


async def _no_sender(
    helpdesk: Helpdesk, session: AsyncSession, inbound: Inbound, mail: MailInfo
) -> None:
    """No address could be read (C14): nobody to answer and no person to create."""
    _log_unattached(session, inbound, "no_sender")
    logger.warning("email %s has no usable sender address; shown to staff", mail.message_id)
    notice = email_text(
        "no_sender",
        message_id=mail.message_id,
        subject=inbound.subject or "-",
        text=shorten(inbound.text or "-", 1000),
    )
    await notify_staff(session, helpdesk.config, notice)


def _log_unattached(session: AsyncSession, inbound: Inbound, outcome: str) -> None:
    interactions.record(
        session,
        channel=Channel.EMAIL,
        direction="in",
        outcome=outcome,
        text=shorten(f"{inbound.subject or ''}\n{inbound.text}".strip(), NOTE_CHARS),
    )
