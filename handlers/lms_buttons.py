"""The staff-card buttons of LMS requests (kept apart so `handlers.tickets` can add them)."""

from __future__ import annotations

from handlers.config import HelpdeskConfig
from handlers.lms_texts import label
from handlers.messages import Button
from storage.models import Ticket

COURSE_CREATION = "course_creation"
ENROLLMENT = "enrollment"


def lms_buttons(ticket: Ticket, config: HelpdeskConfig | None) -> tuple[tuple[Button, ...], ...]:
    """The LMS button for an open course-creation or enrollment ticket, when an LMS is set."""
    if config is None or config.lms is None or ticket.status == "closed":
        return ()
    if ticket.kind == COURSE_CREATION:
        return ((Button(label("id", "button_lms_create"), f"l:c:{ticket.id}"),),)
    if ticket.kind == ENROLLMENT:
        return ((Button(label("id", "button_lms_enrol"), f"l:e:{ticket.id}"),),)
    return ()


def use_button(ticket_id: int, course_id: int, shortname: str) -> Button:
    """ "Use the existing course" after a short name turned out to be taken."""
    return Button(
        label("id", "button_lms_use", shortname=shortname), f"l:u:{ticket_id}:{course_id}"
    )
