"""What a flow's ticket adds to its staff card: the collected details and the done button."""

from __future__ import annotations

from handlers.flows.definitions import FLOWS, shown
from handlers.flows.texts import plain
from handlers.markup import esc
from handlers.messages import Button
from storage.models import Ticket

DONE_KINDS = frozenset({"course_creation", "enrollment", "activation"})
_ACTIVATION_LABELS = {
    "nim": "NIM/NIDN",
    "name": "Nama",
    "email": "Email",
    "programme": "Program studi",
    "person_id": "ID orang",
}


def details_block(ticket: Ticket) -> str:
    """The details as `Label: value` lines for staff (Indonesian), or '' when none."""
    if not ticket.details:
        return ""
    labels = dict(_ACTIVATION_LABELS)
    for flow in FLOWS.values():
        if flow.ticket_kind == ticket.kind:
            labels = {field.name: field.label_id for field in flow.fields}
    lines = [
        f"• {esc(labels.get(key, key))}: <code>{esc(shown(value))}</code>"
        for key, value in ticket.details.items()
    ]
    return plain("id", "details_header") + "\n" + "\n".join(lines)


def done_buttons(ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    """The done button for a flow's ticket that is not closed yet."""
    if ticket.kind not in DONE_KINDS or ticket.status == "closed":
        return ()
    return ((Button(plain("id", "button_done"), f"t:d:{ticket.id}"),),)
