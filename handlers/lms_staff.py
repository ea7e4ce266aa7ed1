"""Staff buttons on LMS requests (`l:c`, `l:e`, `l:u`): checked here, done by the LMS worker."""

from __future__ import annotations

import logging

from handlers import tickets as ticket_flow
from handlers.lms_buttons import COURSE_CREATION, ENROLLMENT
from handlers.lms_texts import say
from handlers.texts import text
from handlers.turn import Turn
from storage import lms_jobs, tickets
from storage.models import Ticket

logger = logging.getLogger(__name__)

# Button action -> (job action, ticket kind it applies to).
ACTIONS = {"c": ("create", COURSE_CREATION), "e": ("enrol", ENROLLMENT), "u": ("use", None)}


async def button(turn: Turn, rest: str) -> None:
    """A staff member pressed an LMS button: check who and what, then queue the work."""
    action, _, target = rest.partition(":")
    number, _, course = target.partition(":")
    if action not in ACTIONS or not number.isdigit() or (action == "u") != course.isdigit():
        logger.debug("unknown LMS button data %r", rest)
        await turn.answer_callback()
        return
    if not turn.is_staff:
        await ticket_flow.refuse(turn, f"LMS action {action} on ticket #{number}")
        return
    ticket = await _ticket(turn, int(number), action)
    if ticket is None:
        return

    job_action = ACTIONS[action][0]
    if await lms_jobs.pending_for_ticket(turn.session, ticket.id, job_action):
        await turn.answer_callback(say("id", "already_queued"))
        return
    payload: dict[str, object] = {"course_id": int(course)} if course else {}
    lms_jobs.add(
        turn.session,
        job_action,
        payload,
        ticket_id=ticket.id,
        person_id=ticket.requester_id,
        staff_id=turn.person.id,
    )
    await turn.log_in(f"lms_{job_action}_approved", topic=ticket.topic, ticket=ticket)
    await turn.answer_callback(say("id", "queued"))
    logger.info("LMS %s for ticket #%s approved by %s", job_action, ticket.id, turn.person.id)


async def _ticket(turn: Turn, number: int, action: str) -> Ticket | None:
    if turn.config.lms is None:
        await turn.answer_callback(say("id", "not_configured"))
        return None
    ticket = await tickets.get_ticket(turn.session, number)
    if ticket is None:
        await turn.answer_callback(say("id", "wrong_kind", number=number))
        return None
    kind = ACTIONS[action][1]
    if ticket.kind not in ((COURSE_CREATION,) if action == "u" else (kind,)):
        await turn.answer_callback(say("id", "wrong_kind", number=number))
        return None
    if ticket.status == "closed":
        await turn.answer_callback(text("id", "already_closed", number=number))
        return None
    if action == "c" and _all_created(ticket):
        await turn.answer_callback(say("id", "already_created", number=number))
        return None
    return ticket


def _all_created(ticket: Ticket) -> bool:
    details = ticket.details or {}
    done = details.get("lms_courses") or {}
    classes = [str(c).strip() for c in details.get("classes") or [] if str(c).strip()] or [""]
    return bool(done) and all(c in done for c in classes)
