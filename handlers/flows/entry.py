"""Where the helpdesk hands guided-flow work over: commands, buttons, text, offers, menu."""

from __future__ import annotations

import logging

from handlers.flows import activation, engine
from handlers.flows import state as flow_state
from handlers.flows.definitions import ACTIVATION, COURSE_CREATION, ENROLLMENT, FLOWS, Flow
from handlers.flows.done import done
from handlers.flows.texts import plain, text
from handlers.messages import Button, Channel
from handlers.texts import text as common_text
from handlers.turn import Turn

logger = logging.getLogger(__name__)

__all__ = ["COMMANDS", "button", "command", "done", "menu_buttons", "offer", "on_text"]

# Commands that start a flow (also reachable from /bantuan and from the KB answers).
COMMANDS: dict[str, str] = {
    "aktivasi": ACTIVATION,
    "buatmk": COURSE_CREATION,
    "enrollment": ENROLLMENT,
}

Rows = tuple[tuple[Button, ...], ...]


async def start(turn: Turn, name: str) -> None:
    """Begin (or resume) the named flow."""
    if name == ACTIVATION:
        await activation.start(turn)
    elif name in FLOWS:
        await engine.start(turn, FLOWS[name])


async def command(turn: Turn, name: str) -> None:
    """`/aktivasi`, `/buatmk`, `/enrollment`."""
    await start(turn, COMMANDS[name])


async def on_text(turn: Turn) -> bool:
    """A typed message from someone in a flow; False when they are in none (or it is not
    an answer to the email form), so the helpdesk reads it as a question."""
    state = flow_state.load(turn)
    if state is None:
        return False
    if state.flow == ACTIVATION:
        return await activation.on_text(turn, state)
    flow = FLOWS.get(state.flow)
    if flow is None:  # a flow this version no longer has
        await flow_state.finish(turn)
        return False
    return await engine.on_text(turn, flow, state)


async def button(turn: Turn, rest: str) -> None:
    """`f:s:<flow>` starts a flow; `f:<fid>:<action>[:<field>[:<choice>]]` acts in one."""
    await turn.answer_callback()
    first, _, tail = rest.partition(":")
    if first == "s":
        await start(turn, tail)
        return
    state = flow_state.load(turn)
    if state is None or state.fid != first:
        await turn.log_in("stale_button")
        await turn.reply(text(turn.language, "stale_button"))
        return
    if state.flow == ACTIVATION:
        await _activation_button(turn, state, tail)
        return
    flow = FLOWS.get(state.flow)
    if flow is not None:
        await _form_button(turn, flow, state, tail)


async def _activation_button(turn: Turn, state: flow_state.State, action: str) -> None:
    if action == "r":
        await activation.resend(turn, state)
    elif action == "x":
        await flow_state.finish(turn)
        await turn.log_in("cancelled", topic=ACTIVATION)
        await turn.reply(common_text(turn.language, "cancelled"), topic=ACTIVATION)
    else:
        await turn.reply(text(turn.language, "stale_button"))


async def _form_button(turn: Turn, flow: Flow, state: flow_state.State, tail: str) -> None:
    action, _, arg = tail.partition(":")
    if action == "c":
        name, _, index = arg.partition(":")
        options = flow.field(name).options(state.values, turn.config.flows) if name else ()
        if name != state.step or not index.isdigit() or int(index) >= len(options):
            await turn.reply(text(turn.language, "stale_button"))
            return
        await engine.accept(turn, flow, state, flow.field(name), options[int(index)])
    elif action == "b":
        await engine.back(turn, flow, state)
    elif action == "x":
        await engine.cancel(turn, flow)
    elif action == "ok" and state.step == flow_state.CONFIRM:
        await engine.submit(turn, flow, state)
    elif action == "e":
        await engine.edit(turn, flow, state, arg or None)
    elif action == "go" and state.step == flow_state.INTRO:
        await engine.begin_fields(turn, flow, state)
    elif action == "end" and state.step == flow_state.INTRO:
        await engine.finish_intro(turn, flow)
    else:
        await turn.reply(text(turn.language, "stale_button"))


def menu_buttons(turn: Turn) -> Rows:
    """The flows offered in /bantuan; a linked person's role decides which."""
    role = turn.person.role
    names: list[str] = []
    if role != "dosen":
        names.append(ACTIVATION)
    if role != "mahasiswa":
        names += [COURSE_CREATION, ENROLLMENT]
    return tuple((Button("📝 " + _title(name, turn.language), f"f:s:{name}"),) for name in names)


def _title(name: str, language: str) -> str:
    if name == ACTIVATION:
        return "Account activation" if language == "en" else "Aktivasi akun"
    return FLOWS[name].title(language)


async def offer(turn: Turn, flow: str | None, body: str, buttons: Rows) -> tuple[str, Rows]:
    """A KB answer whose topic has a flow offers it: a button, or by email the form itself."""
    if flow is None or (flow != ACTIVATION and flow not in FLOWS):
        return body, buttons
    if flow in FLOWS and FLOWS[flow].lecturers_only and turn.person.role == "mahasiswa":
        return body, buttons
    if turn.inbound.channel == Channel.EMAIL:
        # No buttons by email: the answer carries the form (or the NIM question) itself.
        if flow == ACTIVATION:
            return f"{body}\n\n{await activation.begin(turn)}", buttons
        return f"{body}\n\n{await engine.begin_form(turn, FLOWS[flow])}", buttons
    key = "offer_activation" if flow == ACTIVATION else "offer"
    row = (Button("📝 " + plain(turn.language, key), f"f:s:{flow}"),)
    return body, (*buttons, row)
