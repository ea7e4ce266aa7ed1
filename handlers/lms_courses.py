"""Staff-approved LMS jobs on tickets: create a course, use an existing one, enrol students,
and report a student's account state for an activation request."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config import HelpdeskConfig
from handlers.lms_buttons import use_button
from handlers.lms_check import account_state
from handlers.lms_notify import Writer
from handlers.lms_port import Enrolment, LmsCourse, LmsError, LmsUser, NewCourse, ShortNameTaken
from handlers.lms_texts import say
from handlers.lms_worker import JobContext
from storage import lms_jobs
from storage.models import Ticket

logger = logging.getLogger(__name__)


def shortname(details: Mapping[str, Any], cls: str) -> str:
    """Code, class and academic year: `IF201-A-2026/2027` (no class: `IF201-2026/2027`)."""
    parts = [str(details.get("course_code", "")), cls, str(details.get("academic_year", ""))]
    return "-".join("".join(p.split()).upper() for p in parts if p and p.strip())


def fullname(details: Mapping[str, Any], cls: str) -> str:
    """`Pemrograman Dasar - Kelas A (Ganjil 2026/2027)`."""
    name = str(details.get("course_name") or details.get("course_code") or "").strip()
    if cls:
        name += f" - Kelas {cls}"
    term = " ".join(
        str(details.get(k, "")).strip().capitalize() for k in ("semester", "academic_year")
    ).strip()
    return f"{name} ({term})" if term else name


def _classes(details: Mapping[str, Any]) -> list[str]:
    return [str(c).strip() for c in details.get("classes") or [] if str(c).strip()] or [""]


def _lines(courses: Sequence[LmsCourse]) -> str:
    return "\n".join(
        say("id", "course_line", name=c.fullname, shortname=c.shortname, url=c.url)
        for c in courses
    )


def _record(ticket: Ticket, key: str, value: Any) -> None:
    # A JSON column is saved when it is assigned anew, not when it is changed in place.
    ticket.details = {**(ticket.details or {}), key: value}


async def _lecturer(context: JobContext, details: Mapping[str, Any]) -> LmsUser | None:
    email = str(details.get("email", "")).strip().lower()
    return await context.lms.user_by("email", email) if email else None


async def create(context: JobContext) -> None:
    """`l:c`: create one course per class, enrol the lecturer as teacher, tell them."""
    ticket = await context.ticket()
    if ticket is None:
        return
    details = ticket.details or {}
    category = context.lms_config.category_for(str(details.get("faculty", "")))
    if category is None:
        error = say("id", "no_category", faculty=str(details.get("faculty", "")))
        await _staff_failure(context, error)
        return
    done: dict[str, Any] = dict(details.get("lms_courses") or {})
    todo = [cls for cls in _classes(details) if cls not in done]
    if not todo:
        await _staff_failure(context, say("id", "already_created", number=ticket.id))
        return

    lecturer = await _lecturer(context, details)
    created, taken, failure = await _create_all(context, details, todo, category)
    teacher = False
    if failure is None:
        try:
            teacher = await _enrol_teacher(context, lecturer, [c for _, c in created])
        except LmsError as exc:
            failure = exc  # the courses exist: record them, then say what failed

    async with context.write() as (writer, current):
        if current is None:
            return
        courses = {**dict((current.details or {}).get("lms_courses") or {})}
        courses.update({cls: _stored(c) for cls, c in created})
        _record(current, "lms_courses", courses)
        if created:
            note = _teacher_note(teacher, lecturer)
            await _announce(writer, current, [c for _, c in created], details, note)
        for course in taken:
            await _offer(writer, current, course)
        if failure is not None:
            error = context.error(failure)
            writer.event("lms_create_failed", error, ticket=current, person=None)
            await writer.to_staff(
                say("id", "action_failed", number=current.id, error=error), ticket=current
            )


async def _create_all(
    context: JobContext, details: Mapping[str, Any], classes: Sequence[str], category: int
) -> tuple[list[tuple[str, LmsCourse]], list[LmsCourse], LmsError | None]:
    """Create each class's course; stop at the first LMS failure, keeping what was made."""
    created: list[tuple[str, LmsCourse]] = []
    taken: list[LmsCourse] = []
    try:
        for cls in classes:
            spec = NewCourse(fullname(details, cls), shortname(details, cls), category)
            try:
                created.append((cls, await context.lms.create_course(spec)))
            except ShortNameTaken:
                existing = await context.lms.course_by_shortname(spec.shortname)
                if existing is not None:
                    taken.append(existing)
    except LmsError as exc:
        return created, taken, exc
    return created, taken, None


async def use(context: JobContext) -> None:
    """`l:u`: take an existing course for the request, enrol the lecturer, tell them."""
    ticket = await context.ticket()
    if ticket is None:
        return
    details = ticket.details or {}
    course = await context.lms.course_by_id(int(context.job.payload["course_id"]))
    if course is None:
        await _staff_failure(
            context, say("id", "no_course", code=details.get("course_code"), cls="-", year="-")
        )
        return
    lecturer = await _lecturer(context, details)
    teacher = await _enrol_teacher(context, lecturer, [course])
    classes = _classes(details)
    cls = next((c for c in classes if shortname(details, c) == course.shortname), classes[0])

    async with context.write() as (writer, current):
        if current is None:
            return
        courses = {**dict((current.details or {}).get("lms_courses") or {}), cls: _stored(course)}
        _record(current, "lms_courses", courses)
        note = _teacher_note(teacher, lecturer)
        await _announce(writer, current, [course], details, note, used=True)


def _teacher_note(enrolled: bool, lecturer: LmsUser | None) -> str:
    """Which staff note goes with the courses: enrolled, no account, or enrolment failed."""
    if enrolled:
        return "teacher_enrolled"
    return "teacher_missing" if lecturer is None else "teacher_failed"


async def _enrol_teacher(
    context: JobContext, lecturer: LmsUser | None, courses: Sequence[LmsCourse]
) -> bool:
    if lecturer is None or not courses:
        return False
    role = context.lms_config.teacher_role_id
    await context.lms.enrol([Enrolment(lecturer.id, c.id, role) for c in courses])
    return True


def _stored(course: LmsCourse) -> dict[str, Any]:
    return {"id": course.id, "shortname": course.shortname, "url": course.url}


async def _announce(
    writer: Writer,
    ticket: Ticket,
    courses: Sequence[LmsCourse],
    details: Mapping[str, Any],
    note: str,
    *,
    used: bool = False,
) -> None:
    email = str(details.get("email", "")) or "-"
    names = ", ".join(c.shortname for c in courses)
    outcome = "lms_course_used" if used else "lms_course_created"
    writer.event(outcome, names, ticket=ticket, person=ticket.requester)
    teacher = note == "teacher_enrolled"
    if teacher:
        writer.event("lms_teacher_enrolled", email, ticket=ticket, person=ticket.requester)
    staff = "bot" if writer.staff is None else writer.staff.display_name
    notice = say(
        "id",
        "used_staff" if used else "created_staff",
        staff=staff,
        number=ticket.id,
        courses=_lines(courses),
    )
    notice += "\n" + say("id", note, email=email)
    await writer.to_staff(notice, ticket=ticket)
    key = "created_user" if teacher else "created_user_no_teacher"
    name = str(details.get("course_name") or details.get("course_code") or "")
    language = ticket.requester.language
    writer.to_requester(
        ticket, say(language, key, name=name, number=ticket.id, courses=_lines(courses))
    )
    logger.info("LMS courses %s created for ticket #%s", names, ticket.id)


async def _offer(writer: Writer, ticket: Ticket, course: LmsCourse) -> None:
    notice = say(
        "id",
        "taken_staff",
        shortname=course.shortname,
        number=ticket.id,
        fullname=course.fullname,
        url=course.url,
    )
    writer.event("lms_shortname_taken", course.shortname, ticket=ticket, person=None)
    buttons = ((use_button(ticket.id, course.id, course.shortname),),)
    await writer.to_staff(notice, ticket=ticket, buttons=buttons)


async def enrol(context: JobContext) -> None:
    """`l:e`: enrol the students listed on an enrollment ticket; a summary to the requester."""
    ticket = await context.ticket()
    if ticket is None:
        return
    details = ticket.details or {}
    students = [str(s).strip() for s in details.get("students") or [] if str(s).strip()]
    if not students:
        await _staff_failure(context, say("id", "no_students"))
        return
    course, problem = await _course_for(context, details)
    if course is None:
        await _staff_failure(context, problem)
        return

    found: list[tuple[str, LmsUser]] = []
    missing: list[str] = []
    for entry in students:
        field = "email" if "@" in entry else "username"
        user = await context.lms.user_by(field, entry.lower())
        if user is None:
            missing.append(entry)
        else:
            found.append((entry, user))
    role = context.lms_config.student_role_id
    if details.get("lms_role") == "teacher":
        role = context.lms_config.teacher_role_id
    await context.lms.enrol([Enrolment(u.id, course.id, role) for _, u in found])

    async with context.write() as (writer, current):
        if current is None:
            return
        _record(current, "lms_enrolled", [e for e, _ in found])
        _summarise(writer, current, course, [f"{e} ({u.fullname})" for e, u in found], missing)
        staff = "bot" if writer.staff is None else writer.staff.display_name
        values = _summary_values(course, [e for e, _ in found], missing)
        await writer.to_staff(
            say("id", "enrol_staff", staff=staff, number=current.id, **values), ticket=current
        )


def _summary_values(
    course: LmsCourse, enrolled: list[str], missing: list[str]
) -> dict[str, object]:
    return {
        "course": f"{course.shortname} ({course.url})",
        "enrolled_count": len(enrolled),
        "enrolled": ", ".join(enrolled) or "-",
        "missing_count": len(missing),
        "missing": ", ".join(missing) or "-",
    }


def _summarise(
    writer: Writer, ticket: Ticket, course: LmsCourse, enrolled: list[str], missing: list[str]
) -> None:
    writer.event(
        "lms_enrolled",
        f"{course.shortname}: {len(enrolled)} enrolled, {len(missing)} not found",
        ticket=ticket,
        person=ticket.requester,
    )
    language = ticket.requester.language
    values = _summary_values(course, enrolled, missing)
    writer.to_requester(ticket, say(language, "enrol_user", number=ticket.id, **values))


async def _course_for(
    context: JobContext, details: Mapping[str, Any]
) -> tuple[LmsCourse | None, str]:
    """The ticket's course: by id when known, else by short name, else by code if unique."""
    if isinstance(details.get("lms_course_id"), int):
        course = await context.lms.course_by_id(details["lms_course_id"])
        if course is not None:
            return course, ""
    code = str(details.get("course_code", "")).strip()
    cls = str(details.get("class", "")).strip()
    year = str(details.get("academic_year", "")).strip()
    if code and year:
        course = await context.lms.course_by_shortname(shortname(details, cls))
        if course is not None:
            return course, ""
    candidates = await context.lms.courses_by_code(code) if code else []
    if len(candidates) == 1:
        return candidates[0], ""
    if candidates:
        names = ", ".join(c.shortname for c in candidates)
        return None, say("id", "many_courses", code=code, names=names)
    return None, say("id", "no_course", code=code or "-", cls=cls or "-", year=year or "-")


async def _staff_failure(context: JobContext, error: str) -> None:
    """A request that cannot be carried out as it stands: staff read why (already escaped)."""
    async with context.write() as (writer, ticket):
        if ticket is None:
            return
        writer.event(f"lms_{context.job.action}_refused", error, ticket=ticket, person=None)
        await writer.to_staff(
            say("id", "action_failed", number=ticket.id, error=Markup(error)), ticket=ticket
        )


async def activation(context: JobContext) -> None:
    """The LMS account of the student of an activation request, told to platform staff."""
    ticket = await context.ticket()
    if ticket is None:
        return
    details = ticket.details or {}
    email, nim = details.get("email"), details.get("nim")
    state = await account_state(
        context.lms,
        email=str(email) if email else None,
        nim=str(nim) if nim else None,
        timeout=context.lms_config.timeout,
    )
    async with context.write() as (writer, current):
        if current is None:
            return
        _record(current, "lms_account", state.state)
        writer.event(
            f"lms_account_{state.state}", str(email or nim or ""), ticket=current, person=None
        )
        account = str(email or nim or "-")
        notice = say(
            "id",
            "activation_state",
            number=current.id,
            account=account,
            state=Markup(state.describe()),
        )
        await writer.to_staff(notice, ticket=current)


def request_activation_check(
    session: AsyncSession, ticket: Ticket, config: HelpdeskConfig
) -> None:
    """For the activation flow: queue the LMS account check of `ticket`'s student.

    Call it where the activation ticket is opened, in the same transaction; the state
    (exists, suspended, missing) follows in the staff group as a note on that ticket.
    Without an LMS it does nothing.
    """
    if config.lms is None:
        return
    lms_jobs.add(session, "activation", {}, ticket_id=ticket.id, person_id=ticket.requester_id)
