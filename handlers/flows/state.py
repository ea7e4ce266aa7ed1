"""A person's place in a guided flow, kept in the conversations table between messages."""

from __future__ import annotations

import copy
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from handlers.turn import Turn
from storage import conversations

FLOW_KIND = "flow"  # conversations.kind of every guided flow

INTRO = "_intro"  # the explanation before a form (enrollment)
CONFIRM = "_confirm"  # the summary waiting for "send"
EDIT = "_edit"  # choosing which answer to change
FORM = "_form"  # email: the whole form is out, waiting for the filled-in reply


@dataclass
class State:
    """Everything a flow needs to resume after a restart, on any channel."""

    flow: str
    step: str
    chat_id: str
    mode: str = "steps"  # steps: one question per message; form: the email form
    values: dict[str, Any] = field(default_factory=dict)
    prefilled: list[str] = field(default_factory=list)
    editing: bool = False  # a change from the summary: return to it after the answer
    reminded: bool = False
    roster_id: int | None = None  # activation: the roster row the code was sent for
    # Buttons carry it, so a button of an earlier flow never acts on this one.
    fid: str = field(default_factory=lambda: secrets.token_hex(3))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> State:
        """The state stored by `to_data` (unknown keys from a newer version are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_data(self) -> dict[str, Any]:
        """JSON-safe form for the conversations table."""
        return asdict(self)


def load(turn: Turn) -> State | None:
    """The sender's flow on this channel, as read with the sender; None when not in one."""
    conversation = turn.conversation
    if conversation is None or conversation.kind != FLOW_KIND:
        return None
    # A deep copy: changing the loaded JSON in place would hide the change from the ORM.
    return State.from_data(copy.deepcopy(conversation.data))


async def save(turn: Turn, state: State) -> None:
    """Store the state (it survives a restart) and keep the turn's copy in step."""
    state.reminded = False  # any answer counts as activity: a new reminder may come later
    session, person, channel = turn.session, turn.person.id, turn.inbound.channel
    await conversations.start(session, person, channel, FLOW_KIND, state.to_data())
    turn.conversation = await conversations.current(session, person, channel)


async def finish(turn: Turn) -> None:
    """Forget the flow."""
    await conversations.finish(turn.session, turn.person.id, turn.inbound.channel)
    turn.conversation = None
