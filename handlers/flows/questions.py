"""What a form flow shows: each question, the summary, the change list and the email form."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from handlers.flows import emailform
from handlers.flows.definitions import Flow, prompt_key, shown
from handlers.flows.fields import Field, Invalid
from handlers.flows.state import CONFIRM, EDIT, INTRO, State
from handlers.flows.texts import plain, text
from handlers.markup import esc
from handlers.messages import Button, Channel
from handlers.turn import Turn

WITH_BUTTONS = frozenset({Channel.TELEGRAM, Channel.CONSOLE})

Rows = tuple[tuple[Button, ...], ...]


def problem_text(language: str, problem: Invalid) -> str:
    """The user's message for a failed rule; `*_key` values name texts of their own."""
    values: dict[str, Any] = {}
    for key, value in problem.values.items():
        if key.endswith("_key"):
            values[key[:-4]] = Markup(plain(language, str(value)))
        else:
            values[key] = value
    return "⚠️ " + text(language, problem.key, **values)


def active(flow: Flow, state: State) -> list[Field]:
    """The fields this person is asked (a linked lecturer is not asked for NIDN and email)."""
    return [field for field in flow.fields if field.name not in state.prefilled]


async def intro(turn: Turn, flow: Flow, state: State, preface: str = "") -> None:
    language = turn.language
    buttons: Rows = (
        (Button(plain(language, "button_go"), f"f:{state.fid}:go"),),
        (Button(plain(language, "button_enough"), f"f:{state.fid}:end"),),
    )
    body = join(preface, text(language, flow.intro))
    if turn.inbound.channel not in WITH_BUTTONS:
        body = join(body, numbered([b.label for row in buttons for b in row]))
    await turn.reply(body, buttons=buttons, topic=flow.name)


async def ask(
    turn: Turn, flow: Flow, state: State, *, preface: str = "", problem: str = ""
) -> None:
    """Send the message for the current step: a question, the summary or the change list."""
    if state.mode == "form":
        await turn.reply(join(problem, form_message(turn, flow, state)), topic=flow.name)
    elif state.step == INTRO:
        await intro(turn, flow, state, join(problem, preface))
    elif state.step == CONFIRM:
        await _summary(turn, flow, state, problem)
    elif state.step == EDIT:
        await _edit_list(turn, flow, state, problem)
    else:
        await _question(turn, flow, state, preface, problem)


async def _question(turn: Turn, flow: Flow, state: State, preface: str, problem: str) -> None:
    language, fields = turn.language, active(flow, state)
    field = flow.field(state.step)
    number = [f.name for f in fields].index(field.name) + 1
    prompt = Markup(text(language, prompt_key(flow, field)))
    parts = [
        problem,
        preface,
        text(language, "question", number=number, total=len(fields), prompt=prompt),
    ]
    if field.name in state.values:
        parts.append(text(language, "current_value", value=shown(state.values[field.name])))
    options = field.options(state.values, turn.config.flows)
    buttons: list[tuple[Button, ...]] = []
    if options:
        parts.append(text(language, "choices_hint"))
        if turn.inbound.channel not in WITH_BUTTONS:
            parts.append(numbered(options))
        choice = [
            Button(option, f"f:{state.fid}:c:{field.name}:{i}") for i, option in enumerate(options)
        ]
        buttons += [tuple(choice[i : i + 2]) for i in range(0, len(choice), 2)]
    else:
        parts.append(text(language, "text_hint"))
    nav = [Button(plain(language, "button_cancel"), f"f:{state.fid}:x")]
    if number > 1 or state.editing:
        nav.insert(0, Button(plain(language, "button_back"), f"f:{state.fid}:b"))
    # The console presses a button when a number is typed: a typed 2 credits must stay 2.
    if options or turn.inbound.channel == Channel.TELEGRAM:
        buttons.append(tuple(nav))
    await turn.reply(join(*parts), buttons=tuple(buttons), topic=flow.name)


def summary_lines(flow: Flow, state: State, language: str) -> list[str]:
    """`Label: value` for every answer, in the flow's order."""
    return [
        f"<b>{esc(field.label(language))}</b>: {esc(shown(state.values[field.name]))}"
        for field in flow.fields
        if field.name in state.values
    ]


async def _summary(turn: Turn, flow: Flow, state: State, problem: str) -> None:
    language = turn.language
    body = join(
        problem,
        text(language, "summary", title=flow.title(language)),
        "\n".join(summary_lines(flow, state, language)),
        text(language, "summary_hint"),
    )
    buttons: Rows = (
        (
            Button(plain(language, "button_submit"), f"f:{state.fid}:ok"),
            Button(plain(language, "button_edit"), f"f:{state.fid}:e"),
        ),
        (
            Button(plain(language, "button_back"), f"f:{state.fid}:b"),
            Button(plain(language, "button_cancel"), f"f:{state.fid}:x"),
        ),
    )
    await turn.reply(body, buttons=buttons, topic=flow.name)


async def _edit_list(turn: Turn, flow: Flow, state: State, problem: str) -> None:
    language, fields = turn.language, active(flow, state)
    labels = [
        f"{n}. {field.label(language)}: {shown(state.values.get(field.name, '-'))}"
        for n, field in enumerate(fields, 1)
    ]
    buttons = [
        (Button(f"{n}. {field.label(language)}", f"f:{state.fid}:e:{field.name}"),)
        for n, field in enumerate(fields, 1)
    ]
    buttons.append((Button(plain(language, "button_back"), f"f:{state.fid}:b"),))
    body = join(problem, text(language, "edit_which"), esc("\n".join(labels)))
    await turn.reply(body, buttons=tuple(buttons), topic=flow.name)


def form_message(turn: Turn, flow: Flow, state: State) -> str:
    """The email form: what to do, the choices, then one `Field: value` line per item."""
    language, config = turn.language, turn.config.flows
    fields = active(flow, state)
    missing = [field for field in fields if field.name not in state.values]
    if not missing:
        return join(
            text(language, "summary", title=flow.title(language)),
            "\n".join(summary_lines(flow, state, language)),
            text(language, "form_confirm"),
        )
    notes = emailform.choice_notes(missing, state.values, config, language)
    choices = " ".join(text(language, "form_choices", label=lb, options=op) for lb, op in notes)
    intro = text(language, "form_intro", title=flow.title(language), choices=choices)
    lines = esc("\n".join(emailform.form_lines(missing, state.values, language)))
    if len(missing) < len(fields):
        intro = join(intro, text(language, "form_missing"))
    return join(intro, lines)


def first_line(raw: str) -> str:
    """The first line a person wrote, spacing collapsed (an email reply quotes ours below)."""
    for line in raw.splitlines():
        if line.strip() and not line.lstrip().startswith(">"):
            return " ".join(line.split())
    return ""


def numbered(options: Any) -> str:
    return esc("\n".join(f"{n}. {option}" for n, option in enumerate(options, 1)))


def join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)
