"""The `cari_mk` look-up job: is the course in the LMS, and is the person enrolled in it?"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from handlers import tickets as ticket_flow
from handlers.lms_buttons import ENROLLMENT
from handlers.lms_lookup import TOPIC
from handlers.lms_notify import Writer
from handlers.lms_port import LmsCourse, LmsError, LmsUser
from handlers.lms_texts import label, say
from handlers.lms_worker import JobContext
from handlers.messages import Button
from storage import tickets
from storage.models import Person, Ticket

logger = logging.getLogger(__name__)


async def run(context: JobContext) -> None:
    """Look the course and the person up, then answer with what was found."""
    payload = context.job.payload
    code, field, value = payload["code"], payload["field"], payload["value"]
    user: LmsUser | None = None
    enrolled: frozenset[int] = frozenset()
    try:
        courses = await context.lms.courses_by_code(code)
        if courses:
            user = await context.lms.user_by(field, value)
        if user is not None:
            enrolled = await context.lms.user_course_ids(user.id)
    except LmsError as exc:
        await _unavailable(context, exc)
        return

    async with context.write() as (writer, _):
        person = await writer.session.get(Person, context.job.person_id)
        if person is None:
            return
        if not courses:
            _reply(writer, person, payload, "course_missing", buttons=_create_offer(payload))
        elif user is None:
            buttons = (
                (Button(label(payload["language"], "button_activation"), "k:aktivasi_akun"),),
            )
            _reply(writer, person, payload, "account_missing", buttons=buttons)
        elif mine := [c for c in courses if c.id in enrolled]:
            _reply(writer, person, payload, "enrolled", courses=_lines(payload, mine))
        else:
            await _enrolment_request(writer, person, payload, courses, user)


def _reply(
    writer: Writer,
    person: Person,
    payload: dict[str, Any],
    key: str,
    *,
    buttons: tuple[tuple[Button, ...], ...] = (),
    ticket: Ticket | None = None,
    **values: object,
) -> None:
    html = say(payload["language"], key, code=payload["code"], account=payload["value"], **values)
    writer.to_person(
        person,
        payload["channel"],
        payload["chat_id"],
        html,
        ticket=ticket,
        topic=TOPIC,
        buttons=buttons,
        subject=payload.get("subject"),
    )


def _create_offer(payload: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
    return ((Button(label(payload["language"], "button_create_request"), "k:buat_mk"),),)


def _lines(payload: dict[str, Any], courses: Sequence[LmsCourse]) -> str:
    return "\n".join(
        say(payload["language"], "course_line", name=c.fullname, shortname=c.shortname, url=c.url)
        for c in courses
    )


async def _enrolment_request(
    writer: Writer,
    person: Person,
    payload: dict[str, Any],
    courses: Sequence[LmsCourse],
    user: LmsUser,
) -> None:
    """Found, not enrolled: an enrollment ticket for staff (one per person and course)."""
    course = courses[0] if len(courses) == 1 else None
    for ticket in await tickets.tickets_of(writer.session, person.id):
        details = ticket.details or {}
        same = course is not None and details.get("lms_course_id") == course.id
        if ticket.kind == ENROLLMENT and ticket.status != "closed" and same:
            _reply(
                writer, person, payload, "not_enrolled_pending", ticket=ticket, number=ticket.id
            )
            return

    found = "; ".join(f"{c.shortname} ({c.url})" for c in courses)
    question = (
        f"{payload['question']}\n\n[LMS] {payload['code']}: {found}. "
        f"Akun {payload['value']} (id LMS {user.id}) belum terdaftar."
    )
    ticket = await tickets.open_ticket(
        writer.session,
        requester_id=person.id,
        channel=payload["channel"],
        chat_id=payload["chat_id"],
        question=question,
        topic=TOPIC,
    )
    ticket.kind = ENROLLMENT
    ticket.details = {
        "course_code": payload["code"],
        "course_name": courses[0].fullname,
        "class": "",
        "semester": "",
        "academic_year": "",
        "problem": "belum terdaftar (pemeriksaan LMS)",
        "students": [payload["value"]],
        "lms_role": "teacher" if person.role == "dosen" else "student",
        **({"lms_course_id": course.id} if course is not None else {}),
    }
    writer.event("escalated", question, ticket=ticket, person=person)
    _reply(writer, person, payload, "not_enrolled", ticket=ticket, number=ticket.id)
    await _card(writer, ticket, person)
    logger.info("enrollment ticket #%s opened from an LMS look-up", ticket.id)


async def _card(writer: Writer, ticket: Ticket, person: Person) -> None:
    html = ticket_flow.card(ticket, person, TOPIC)
    buttons = ticket_flow.card_buttons(ticket, config=writer.config)
    if not await writer.to_staff(html, ticket=ticket, buttons=buttons, purpose="ticket_card"):
        logger.warning("ticket #%s has no staff group to go to", ticket.id)


async def _unavailable(context: JobContext, exc: LmsError) -> None:
    """The LMS could not be asked: a ticket, "staff will check", and the error for staff."""
    payload = context.job.payload
    error = context.error(exc)
    async with context.write() as (writer, _):
        person = await writer.session.get(Person, context.job.person_id)
        if person is None:
            return
        ticket = await tickets.open_ticket(
            writer.session,
            requester_id=person.id,
            channel=payload["channel"],
            chat_id=payload["chat_id"],
            question=payload["question"],
            topic=TOPIC,
        )
        writer.event("lms_lookup_failed", error, ticket=ticket, person=person)
        _reply(writer, person, payload, "unavailable", ticket=ticket, number=ticket.id)
        await _card(writer, ticket, person)
        notice = say(
            "id",
            "card_lookup_failed",
            number=ticket.id,
            error=error,
            code=payload["code"],
            account=payload["value"],
        )
        await writer.to_staff(notice, ticket=ticket)
