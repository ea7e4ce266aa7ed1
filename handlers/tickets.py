"""Hand-over to staff: opening tickets, staff replies, claiming and closing."""

from __future__ import annotations

import logging
from dataclasses import replace

from handlers import email_staff, stored_files
from handlers.config import HelpdeskConfig
from handlers.flows.cards import details_block, done_buttons
from handlers.lms_buttons import lms_buttons
from handlers.markup import esc, shorten
from handlers.messages import Button, Channel, Outbound
from handlers.texts import plain, text
from handlers.texts_reliability import text as reliability_text
from handlers.turn import Turn
from storage import tickets
from storage.models import Person, Ticket

logger = logging.getLogger(__name__)

CARD_QUESTION_CHARS = 3000
LIST_QUESTION_CHARS = 60


def status_label(language: str, status: str) -> str:
    """A ticket state as the reader says it."""
    return plain(language, f"status_{status}")


def card(ticket: Ticket, requester: Person, topic_title: str) -> str:
    """The staff-group message for a ticket (with a guided flow's details, if any)."""
    body = text(
        "id",
        "card",
        number=ticket.id,
        status=status_label("id", ticket.status),
        name=requester.display_name,
        role=requester.role,
        channel=ticket.channel,
        topic=topic_title,
        question=shorten(ticket.question, CARD_QUESTION_CHARS),
    )
    details = details_block(ticket)
    return f"{body}\n{details}" if details else body


def card_buttons(
    ticket: Ticket, *, config: HelpdeskConfig | None = None
) -> tuple[tuple[Button, ...], ...]:
    """Claim and close while open; close only once claimed; nothing once closed.

    With `config` naming an LMS, course-creation and enrollment requests get its button too.
    """
    claim = Button(plain("id", "button_claim"), f"t:c:{ticket.id}")
    close = Button(plain("id", "button_close"), f"t:x:{ticket.id}")
    lms = lms_buttons(ticket, config)
    if ticket.status == "open":
        return ((claim, close), *done_buttons(ticket), *lms)
    if ticket.status == "claimed":
        return ((close,), *done_buttons(ticket), *lms)
    return ()


async def hand_over(turn: Turn, question: str, *, topic: str | None, topic_title: str) -> Ticket:
    """Open a ticket, tell the user its number and show it to staff."""
    inbound = turn.inbound
    ticket = await tickets.open_ticket(
        turn.session,
        requester_id=turn.person.id,
        channel=inbound.channel,
        chat_id=inbound.chat_id,
        question=question,
        topic=topic,
    )
    await turn.log_in("escalated", topic=topic, ticket=ticket)
    await turn.reply(
        text(turn.language, "ticket_created", number=ticket.id), topic=topic, ticket=ticket
    )
    await _to_staff(
        turn,
        card(ticket, turn.person, topic_title),
        ticket,
        buttons=card_buttons(ticket, config=turn.config),
        purpose="ticket_card",
        copy=bool(inbound.attachments),
    )
    logger.info("ticket #%s opened on %s", ticket.id, inbound.channel)
    return ticket


async def follow_up(turn: Turn, ticket: Ticket) -> None:
    """A further message from a requester whose ticket is still open goes to staff."""
    await turn.log_in("forwarded", topic=ticket.topic, ticket=ticket)
    if turn.inbound.attachments:
        kind = turn.inbound.attachments[0].kind
        notice = text(
            "id", "card_file", name=turn.person.display_name, kind=kind, number=ticket.id
        )
        await _to_staff(turn, notice, ticket, copy=True)
    if turn.inbound.text:
        notice = text(
            "id",
            "card_followup",
            number=ticket.id,
            name=turn.person.display_name,
            text=shorten(turn.inbound.text, CARD_QUESTION_CHARS),
        )
        await _to_staff(turn, notice, ticket)
    key = (
        "file_on_ticket"
        if turn.inbound.attachments and not turn.inbound.text
        else ("ticket_followup")
    )
    await turn.reply(text(turn.language, key, number=ticket.id), ticket=ticket)


async def staff_reply(turn: Turn, ticket: Ticket) -> None:
    """A staff member's reply to a ticket message reaches the requester on their channel."""
    if not turn.is_staff:
        await refuse(turn, f"reply to ticket #{ticket.id}")
        return
    files = stored_files.kept(turn.inbound.attachments, turn.inbound.channel)
    if not turn.inbound.text and not files:
        return

    await turn.log_in("staff_reply", topic=ticket.topic, ticket=ticket)
    tickets.record_response(ticket, turn.person.id)
    language = ticket.requester.language
    words = turn.inbound.text or plain(language, "staff_reply_file")
    html = text(language, "staff_reply", number=ticket.id, text=words)
    await _to_requester(turn, ticket, html, files=files)
    await turn.reply(
        text("id", "reply_sent", staff=turn.person.display_name, number=ticket.id), ticket=ticket
    )


async def claim(turn: Turn, number: int) -> None:
    """A staff member takes a ticket; the requester is told someone is on it."""
    await _transition(turn, number, "claimed", "claimed_by", "ticket_claimed_user")


async def close(turn: Turn, number: int) -> None:
    """A staff member closes a ticket; the requester is told."""
    await _transition(turn, number, "closed", "closed_by", "ticket_closed_user")


async def _transition(
    turn: Turn, number: int, outcome: str, staff_notice: str, user_notice: str
) -> None:
    ticket = await _staff_ticket(turn, number, outcome)
    if ticket is None:
        return
    if ticket.status == "closed":
        await turn.answer_callback(text("id", "already_closed", number=number))
        return
    if outcome == "claimed" and ticket.assignee_id == turn.person.id:
        # A repeated click (C11: twenty in ten seconds) changes nothing: no edit, no notice.
        await turn.answer_callback(reliability_text("id", "already_yours", number=number))
        return

    change = tickets.claim if outcome == "claimed" else tickets.close
    change(ticket, turn.person.id)
    await turn.session.flush()  # a later message in the same batch sees the new state
    await turn.log_in(outcome, topic=ticket.topic, ticket=ticket)
    await turn.answer_callback()
    await _refresh_cards(turn, ticket)
    staff = turn.person.display_name
    await turn.reply(text("id", staff_notice, number=number, staff=staff), ticket=ticket)
    language = ticket.requester.language
    await _to_requester(turn, ticket, text(language, user_notice, number=number))


async def list_open(turn: Turn) -> None:
    """Staff: the open tickets."""
    if not turn.is_staff:
        await refuse(turn, "list open tickets")
        return
    rows = await tickets.open_tickets(turn.session)
    await turn.log_in("listed")
    if not rows:
        await turn.reply(text("id", "open_tickets_none"))
        return
    lines = [text("id", "open_tickets_header")]
    lines += [
        text(
            "id",
            "staff_line",
            number=t.id,
            status=status_label("id", t.status),
            name=t.requester.display_name,
            topic=t.topic or "-",
            question=shorten(t.question, LIST_QUESTION_CHARS),
        )
        for t in rows
    ]
    await turn.reply("\n".join(lines))


async def list_mine(turn: Turn) -> None:
    """A user's own tickets: nobody else's, whatever number they type."""
    rows = await tickets.tickets_of(turn.session, turn.person.id)
    await turn.log_in("listed", topic="status_tiket")
    if not rows:
        await turn.reply(text(turn.language, "no_tickets"), topic="status_tiket")
        return
    lines = [text(turn.language, "tickets_header")]
    lines += [
        text(
            turn.language,
            "ticket_line",
            number=t.id,
            status=status_label(turn.language, t.status),
            created=t.created_at.astimezone(turn.config.zone).strftime("%d-%m-%Y %H:%M"),
            question=shorten(t.question, LIST_QUESTION_CHARS),
        )
        for t in rows
    ]
    await turn.reply("\n".join(lines), topic="status_tiket")


async def refuse(turn: Turn, action: str) -> None:
    """Someone who is not staff tried a staff action: say no politely, log who it was."""
    logger.warning(
        "refused %s to non-staff %s user %s",
        action,
        turn.inbound.channel,
        turn.inbound.sender.external_id,
    )
    await turn.log_in("refused")
    if turn.inbound.callback_ref is not None:
        await turn.answer_callback(text(turn.language, "staff_only"))
    else:
        await turn.reply(text(turn.language, "staff_only"))


async def _staff_ticket(turn: Turn, number: int, action: str) -> Ticket | None:
    if not turn.is_staff:
        await refuse(turn, f"{action} ticket #{number}")
        return None
    ticket = await tickets.get_ticket(turn.session, number)
    if ticket is None:
        await turn.answer_callback(text("id", "ticket_not_found", number=number))
    return ticket


async def _refresh_cards(turn: Turn, ticket: Ticket) -> None:
    cards = {
        (r.channel, r.chat_id, r.message_ref)
        for r in await tickets.card_refs(turn.session, ticket.id)
    }
    pressed = turn.inbound
    if pressed.callback_ref is not None and pressed.message_ref is not None:
        # The button was on a card: its delivery may not be recorded yet (the sender marks
        # a batch of sends at once), so the press itself names the card to update.
        target = (pressed.channel.value, pressed.chat_id, pressed.message_ref)
        if target not in cards:
            cards.add(target)
            await tickets.remember_message(turn.session, ticket.id, *target, "ticket_card")
    for channel, chat_id, message_ref in sorted(cards):
        outbound = Outbound(
            channel=Channel(channel),
            chat_id=chat_id,
            html=card(ticket, ticket.requester, ticket.topic or "-"),
            buttons=card_buttons(ticket, config=turn.config),
            purpose="edit",
            ticket_id=ticket.id,
            extra={"message_ref": message_ref},
        )
        await turn.send(outbound, to=None, topic=ticket.topic, ticket=ticket, by_staff=True)


async def _to_requester(
    turn: Turn, ticket: Ticket, html: str, *, files: list[stored_files.FileRef] | None = None
) -> None:
    """`html` to the requester on their channel, with the files staff sent along."""
    channel, inbound = Channel(ticket.channel), turn.inbound
    extra = {"by_staff": "1"} if turn.is_staff else {}  # email: not an automatic answer
    # Telegram to Telegram: the staff member's own message is copied (caption dropped, the
    # text follows); to email: attached; email to Telegram: a document each, below.
    ref = inbound.message_ref
    copied = bool(files) and ref is not None and channel == inbound.channel == Channel.TELEGRAM
    if copied and ref is not None and files:
        extra |= {"copy_from_chat": inbound.chat_id, "copy_message_ref": ref, "copy_caption": ""}
        extra["copy_name"] = files[0].name  # said instead, should the copy be refused
    elif files and channel == Channel.EMAIL:
        extra |= stored_files.to_extra(files)
    outbound = Outbound(
        channel=channel,
        chat_id=ticket.chat_id,
        html=html,
        ticket_id=ticket.id,
        subject=f"[#{ticket.id}]",
        extra=extra,
    )
    await turn.send(
        outbound, to=ticket.requester, topic=ticket.topic, ticket=ticket, by_staff=turn.is_staff
    )
    if files and not copied and channel != Channel.EMAIL:
        for file in files:
            await turn.send(
                replace(
                    outbound, html=f"📎 {esc(file.name)}", extra=stored_files.to_extra([file])
                ),
                to=ticket.requester,
                topic=ticket.topic,
                ticket=ticket,
                by_staff=turn.is_staff,
            )


async def _to_staff(
    turn: Turn,
    html: str,
    ticket: Ticket,
    *,
    buttons: tuple[tuple[Button, ...], ...] = (),
    purpose: str = "notice",
    copy: bool = False,
) -> None:
    staff = await turn.staff_chat()
    if staff is None:
        note = _left_out_note(turn, copy)
        html = f"{html}\n{note}" if note else html
        await email_staff.copy_to_staff(turn, html, ticket, files=_files(turn, copy))
        logger.warning(
            "ticket #%s has no staff group to go to (telegram.staff_chat_id unset)", ticket.id
        )
        return
    extra: dict[str, str] = {}
    if copy and turn.inbound.channel == staff[0] and turn.inbound.message_ref:
        first = turn.inbound.attachments[0] if turn.inbound.attachments else None
        extra = {
            "copy_from_chat": turn.inbound.chat_id,
            "copy_message_ref": turn.inbound.message_ref,
            "copy_name": (first.name or first.kind) if first else "-",
        }
    outbound = Outbound(
        channel=Channel(staff[0]),
        chat_id=staff[1],
        html=html,
        buttons=buttons,
        purpose=purpose,
        ticket_id=ticket.id,
        extra=extra,
    )
    await turn.send(outbound, to=None, topic=ticket.topic, ticket=ticket)
    if copy and turn.inbound.channel != staff[0]:
        await _files_to_staff(turn, ticket, staff)
    if note := _left_out_note(turn, copy):
        await turn.send(
            replace(outbound, html=note, buttons=(), purpose="notice", extra={}),
            to=None,
            topic=ticket.topic,
            ticket=ticket,
        )
        html += "\n" + note
    await email_staff.copy_to_staff(turn, html, ticket, files=_files(turn, copy))


def _left_out_note(turn: Turn, copy: bool) -> str:
    """Names of the files staff will not get (too big, empty, past the fifth); "" if none."""
    names = stored_files.left_out(turn.inbound.attachments) if copy else []
    return text("id", "files_left_out", names=", ".join(names)) if names else ""


def _files(turn: Turn, copy: bool) -> list[stored_files.FileRef]:
    return stored_files.kept(turn.inbound.attachments, turn.inbound.channel) if copy else []


async def _files_to_staff(turn: Turn, ticket: Ticket, staff: tuple[str, str]) -> None:
    """An email's attachments to the staff group, one message each (loaded when sent)."""
    for file in _files(turn, True):
        outbound = Outbound(
            channel=Channel(staff[0]),
            chat_id=staff[1],
            html=text(
                "id",
                "card_email_file",
                number=ticket.id,
                name=turn.person.display_name,
                file=file.name,
            ),
            purpose="notice",
            ticket_id=ticket.id,
            extra=stored_files.to_extra([file]),
        )
        await turn.send(outbound, to=None, topic=ticket.topic, ticket=ticket)
