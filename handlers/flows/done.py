"""Staff mark a flow's ticket done; the requester hears the outcome (SOP 6.A.b step 6)."""

from __future__ import annotations

import logging
import re

from markupsafe import Markup
from sqlalchemy import select

from handlers import tickets as ticket_flow
from handlers.flows.texts import text
from handlers.texts import text as common_text
from handlers.turn import Turn
from storage import tickets
from storage.models import Interaction, Ticket

logger = logging.getLogger(__name__)

_URL = re.compile(r"https?://[^\s<>\"']+")


async def done(turn: Turn, number: int) -> None:
    """The `t:d:<ticket>` button: close the ticket and tell the requester it is done."""
    if not turn.is_staff:
        await ticket_flow.refuse(turn, f"mark ticket #{number} done")
        return
    ticket = await tickets.get_ticket(turn.session, number)
    if ticket is None:
        await turn.answer_callback(common_text("id", "ticket_not_found", number=number))
        return
    if ticket.status == "closed":
        await turn.answer_callback(common_text("id", "already_closed", number=number))
        return

    tickets.close(ticket, turn.person.id)
    await turn.session.flush()
    await turn.log_in("done", topic=ticket.topic, ticket=ticket)
    await turn.answer_callback()
    await ticket_flow._refresh_cards(turn, ticket)
    await turn.reply(
        text("id", "done_by", number=number, staff=turn.person.display_name), ticket=ticket
    )
    url = await course_address(turn, ticket)
    await ticket_flow._to_requester(turn, ticket, requester_notice(ticket, url))
    logger.info("ticket #%s (%s) marked done", ticket.id, ticket.kind)


async def course_address(turn: Turn, ticket: Ticket) -> str:
    """The address staff gave in their newest reply on the ticket, else the LMS's."""
    query = (
        select(Interaction.text)
        .where(Interaction.ticket_id == ticket.id, Interaction.outcome == "staff_reply")
        .order_by(Interaction.id.desc())
    )
    for reply in (await turn.session.scalars(query)).all():
        found = _URL.search(reply)
        if found:
            return found[0].rstrip(".,)")
    return str(turn.config.contact.get("lms_url") or "")


def requester_notice(ticket: Ticket, url: str) -> str:
    """What the requester is told, in their language, by the kind of request."""
    language = ticket.requester.language
    details = ticket.details or {}
    where = Markup(text(language, "where_url", url=url)) if url else ""
    if ticket.kind == "course_creation":
        return text(
            language,
            "done_course_creation",
            course_code=details.get("course_code", ""),
            course_name=details.get("course_name", ""),
            number=ticket.id,
            where=where,
        )
    if ticket.kind == "enrollment":
        return text(
            language,
            "done_enrollment",
            course_code=details.get("course_code", ""),
            klass=details.get("class", ""),
            number=ticket.id,
            where=where,
        )
    if ticket.kind == "activation":
        return text(
            language,
            "done_activation",
            nim=details.get("nim", ""),
            number=ticket.id,
            where=where,
        )
    return text(language, "done_other", number=ticket.id)
