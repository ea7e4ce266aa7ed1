"""Running a form flow: ask, check, go back, change, confirm and submit as a ticket."""

from __future__ import annotations

import logging
from typing import Any

from handlers import tickets as ticket_flow
from handlers.flows import emailform, questions
from handlers.flows import state as flow_state
from handlers.flows.definitions import FLOWS, Flow
from handlers.flows.fields import Field, Invalid, programmes
from handlers.flows.questions import (
    active,
    ask,
    first_line,
    form_message,
    join,
    problem_text,
)
from handlers.flows.state import CONFIRM, EDIT, FORM, INTRO, State
from handlers.flows.texts import text
from handlers.markup import esc
from handlers.messages import Channel
from handlers.texts import text as common_text
from handlers.turn import Turn
from storage import roster, tickets

logger = logging.getLogger(__name__)

YES = frozenset({"ya", "y", "yes", "kirim", "send", "ok", "oke", "iya"})
BACK = frozenset({"kembali", "back", "sebelumnya", "previous"})
CHANGE = frozenset({"ubah", "change", "ganti", "edit"})
CANCEL = frozenset({"batal", "cancel", "/batal"})


async def start(turn: Turn, flow: Flow) -> None:
    """Begin `flow`, or pick up where the person left it."""
    if flow.lecturers_only and turn.person.role == "mahasiswa":
        await turn.log_in("flow_refused", topic=flow.name)
        await turn.reply(text(turn.language, "lecturers_only"), topic=flow.name)
        return
    current = flow_state.load(turn)
    if current is not None and current.flow == flow.name:
        await turn.log_in("flow_resumed", topic=flow.name)
        await ask(turn, flow, current)
        return

    preface = ""
    if current is not None:
        preface = text(turn.language, "replaced", title=_title(current.flow, turn.language))
    mode = "steps" if turn.inbound.channel != Channel.EMAIL else "form"
    state = State(flow=flow.name, step=INTRO, chat_id=turn.inbound.chat_id, mode=mode)
    await _prefill(turn, flow, state)
    await turn.log_in("flow_started", topic=flow.name)
    if mode == "form":
        state.step = FORM
        await flow_state.save(turn, state)
        explanation = text(turn.language, flow.intro) if flow.ask_first else ""
        body = join(preface, explanation, form_message(turn, flow, state))
        await turn.reply(body, topic=flow.name)
        return
    if flow.ask_first:
        await flow_state.save(turn, state)
        await questions.intro(turn, flow, state, preface)
        return
    state.step = active(flow, state)[0].name
    await flow_state.save(turn, state)
    await ask(turn, flow, state, preface=join(preface, text(turn.language, flow.intro)))


async def begin_form(turn: Turn, flow: Flow) -> str:
    """By email: keep the flow waiting for the filled-in form and return the form text."""
    state = State(flow=flow.name, step=FORM, chat_id=turn.inbound.chat_id, mode="form")
    await _prefill(turn, flow, state)
    await flow_state.save(turn, state)
    await turn.log_in("flow_started", topic=flow.name)
    explanation = text(turn.language, flow.intro) if flow.ask_first else ""
    return join(explanation, form_message(turn, flow, state))


async def _prefill(turn: Turn, flow: Flow, state: State) -> None:
    entry = await roster.of_person(turn.session, turn.person.id) if flow.from_roster else None
    if entry is None or entry.role != "dosen":
        return
    for name, attribute in flow.from_roster:
        value = getattr(entry, attribute)
        if value:
            state.values[name] = value
            state.prefilled.append(name)


async def on_text(turn: Turn, flow: Flow, state: State) -> bool:
    """A typed message during `flow`; False when it is not for the flow (email only)."""
    raw = turn.inbound.text
    word = first_line(raw).casefold().rstrip(".!")
    if word in CANCEL:
        await cancel(turn, flow)
        return True
    if state.mode == "form":
        return await _form_reply(turn, flow, state, word)
    if state.step == INTRO:
        if word in YES:
            await begin_fields(turn, flow, state)
            return True
        # Not "yes, help me": a question of its own, read as one; the explanation stands.
        await flow_state.finish(turn)
        return False
    if word in BACK:
        await back(turn, flow, state)
    elif state.step == CONFIRM:
        await _confirm_text(turn, flow, state, word)
    elif state.step == EDIT:
        await _edit_text(turn, flow, state, word)
    else:
        await accept(turn, flow, state, flow.field(state.step), raw)
    return True


async def _confirm_text(turn: Turn, flow: Flow, state: State, word: str) -> None:
    command, _, number = word.partition(" ")
    if word in YES:
        await submit(turn, flow, state)
    elif command in CHANGE and number:
        await _edit_text(turn, flow, state, number)
    elif word in CHANGE:
        await edit(turn, flow, state, None)
    else:
        await turn.log_in("flow_invalid", topic=flow.name)
        await ask(turn, flow, state, problem=text(turn.language, "confirm_expected"))


async def _edit_text(turn: Turn, flow: Flow, state: State, word: str) -> None:
    fields = active(flow, state)
    if word.isdigit() and 1 <= int(word) <= len(fields):
        await edit(turn, flow, state, fields[int(word) - 1].name)
        return
    await turn.log_in("flow_invalid", topic=flow.name)
    state.step = EDIT
    await ask(turn, flow, state, problem=text(turn.language, "edit_which"))


async def accept(turn: Turn, flow: Flow, state: State, field: Field, raw: str) -> None:
    """Check an answer to the current question; store it and move on, or say what is wrong."""
    try:
        value = field.parse(raw, state.values, turn.config.flows)
    except Invalid as problem:
        await turn.log_in("flow_invalid", topic=flow.name)
        await ask(turn, flow, state, problem=problem_text(turn.language, problem))
        return
    state.values[field.name] = value
    _drop_dependants(state, turn)
    await turn.log_in("flow_answer", topic=flow.name)
    state.step = _next_step(flow, state, field)
    state.editing = state.editing and state.step != CONFIRM
    await flow_state.save(turn, state)
    await ask(turn, flow, state)


def _drop_dependants(state: State, turn: Turn) -> None:
    # A programme belongs to a faculty: a new faculty clears a programme it does not have.
    offered = programmes(state.values, turn.config.flows)
    if offered and state.values.get("programme") not in offered:
        state.values.pop("programme", None)


def _next_step(flow: Flow, state: State, answered: Field) -> str:
    fields = active(flow, state)
    missing = [field.name for field in fields if field.name not in state.values]
    if state.editing:
        return missing[0] if missing else CONFIRM
    names = [field.name for field in fields]
    after = names[names.index(answered.name) + 1 :]
    return after[0] if after else (missing[0] if missing else CONFIRM)


async def back(turn: Turn, flow: Flow, state: State) -> None:
    """The previous question (from the summary: the last one)."""
    names = [field.name for field in active(flow, state)]
    await turn.log_in("flow_back", topic=flow.name)
    if state.step in (CONFIRM, EDIT):
        state.step = CONFIRM if state.step == EDIT else names[-1]
    elif state.editing:
        state.step, state.editing = CONFIRM, False
    elif state.step in names and names.index(state.step) > 0:
        state.step = names[names.index(state.step) - 1]
    else:
        await ask(turn, flow, state, problem=text(turn.language, "at_first"))
        return
    await flow_state.save(turn, state)
    await ask(turn, flow, state)


async def edit(turn: Turn, flow: Flow, state: State, name: str | None) -> None:
    """Choose an answer to change (None: show the list), then ask it again."""
    if name is None:
        state.step = EDIT
    elif name in [field.name for field in active(flow, state)]:
        state.step, state.editing = name, True
    await turn.log_in("flow_edit", topic=flow.name)
    await flow_state.save(turn, state)
    await ask(turn, flow, state)


async def begin_fields(turn: Turn, flow: Flow, state: State) -> None:
    """From the explanation to the first question."""
    state.step = active(flow, state)[0].name
    await turn.log_in("flow_continue", topic=flow.name)
    await flow_state.save(turn, state)
    await ask(turn, flow, state)


async def finish_intro(turn: Turn, flow: Flow) -> None:
    """The explanation was enough: the flow ends without a ticket (SOP 6.A.b step 3)."""
    await flow_state.finish(turn)
    await turn.log_in("helped", topic=flow.name)
    await turn.reply(text(turn.language, "enough"), topic=flow.name)


async def cancel(turn: Turn, flow: Flow) -> None:
    """Drop the flow on the person's word or button."""
    await flow_state.finish(turn)
    await turn.log_in("cancelled", topic=flow.name)
    await turn.reply(common_text(turn.language, "cancelled"), topic=flow.name)


async def _form_reply(turn: Turn, flow: Flow, state: State, word: str) -> bool:
    fields = active(flow, state)
    complete = all(field.name in state.values for field in fields)
    if word in YES and complete:
        await submit(turn, flow, state)
        return True
    found = emailform.parse_form(turn.inbound.text, flow)
    found = {name: raw for name, raw in found.items() if name not in state.prefilled}
    if not found:
        return False  # not an answer to the form: the helpdesk reads it as a question
    errors = emailform.apply_form(flow, found, state.values, turn.config.flows)
    _drop_dependants(state, turn)
    await turn.log_in("flow_invalid" if errors else "flow_answer", topic=flow.name)
    await flow_state.save(turn, state)
    problems = [
        f"<b>{esc(flow.field(name).label(turn.language))}</b>: "
        + problem_text(turn.language, problem)
        for name, problem in errors.items()
    ]
    header = text(turn.language, "form_errors") if problems else ""
    await ask(turn, flow, state, problem=join(header, "\n".join(problems)))
    return True


async def submit(turn: Turn, flow: Flow, state: State) -> None:
    """Create the ticket with the contract's details, tell the person, show it to staff."""
    details = flow.details_of(state.values)
    ticket = await tickets.open_ticket(
        turn.session,
        requester_id=turn.person.id,
        channel=turn.inbound.channel,
        chat_id=turn.inbound.chat_id,
        question=ticket_question(flow, details),
        topic=flow.name,
    )
    ticket.kind, ticket.details = flow.ticket_kind, details
    await turn.session.flush()
    await flow_state.finish(turn)
    await turn.log_in("flow_submitted", topic=flow.name, ticket=ticket)
    title = flow.title(turn.language)
    await turn.reply(
        text(turn.language, "submitted", title=title, number=ticket.id),
        topic=flow.name,
        ticket=ticket,
    )
    await show_to_staff(turn, ticket, flow.title("id"))
    logger.info("%s request ticket #%s opened on %s", flow.ticket_kind, ticket.id, ticket.channel)


async def show_to_staff(turn: Turn, ticket: Any, title: str) -> None:
    """The staff-group card of a flow's ticket, with its details and the done button."""
    html = ticket_flow.card(ticket, turn.person, title)
    buttons = ticket_flow.card_buttons(ticket, config=turn.config)
    await ticket_flow._to_staff(turn, html, ticket, buttons=buttons, purpose="ticket_card")


def ticket_question(flow: Flow, details: dict[str, Any]) -> str:
    """The one line `/tiket` and staff lists show for the request."""
    course = f"{details.get('course_code', '')} {details.get('course_name', '')}".strip()
    when = f"{details.get('semester', '')} {details.get('academic_year', '')}".strip()
    return f"{flow.title('id')}: {course} ({when})"


def _title(name: str, language: str) -> str:
    flow = FLOWS.get(name)
    if flow is not None:
        return flow.title(language)
    return "Aktivasi akun" if language != "en" else "Account activation"
