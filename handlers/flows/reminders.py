"""Half-finished flows: one gentle reminder after a while, then expiry."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.delivery import to_payload
from handlers.flows.config import FlowConfig
from handlers.flows.definitions import ACTIVATION, FLOWS
from handlers.flows.state import FLOW_KIND, State
from handlers.flows.texts import text
from handlers.markup import to_plain
from handlers.messages import Channel, Outbound
from handlers.worker import Worker
from storage import interactions, queues
from storage.models import Conversation, Person
from storage.types import utcnow

logger = logging.getLogger(__name__)


async def remind_and_expire(
    session: AsyncSession, config: FlowConfig, *, now: datetime
) -> tuple[int, int]:
    """Remind flows idle past `remind_after` once; drop those idle past `expire_after`.

    Returns (reminded, expired). Idle time counts from the person's last answer
    (`updated_at`); a reminder does not restart it.
    """
    query = (
        select(Conversation, Person)
        .join(Person, Person.id == Conversation.person_id)
        .where(
            Conversation.kind == FLOW_KIND,
            Conversation.updated_at <= now - config.remind_after,
        )
        .with_for_update(of=Conversation, skip_locked=True)
    )
    reminded = expired = 0
    for conversation, person in (await session.execute(query)).all():
        state = State.from_data(copy.deepcopy(conversation.data))
        if conversation.updated_at <= now - config.expire_after:
            await session.delete(conversation)
            _notify(session, conversation.channel, state, person, "expired", "flow_expired")
            expired += 1
        elif not state.reminded:
            state.reminded = True
            conversation.data = state.to_data()  # updated_at stays: idle time goes on
            _notify(session, conversation.channel, state, person, "reminder", "flow_reminded")
            reminded += 1
    await session.flush()
    return reminded, expired


def _title(name: str, language: str) -> str:
    flow = FLOWS.get(name)
    if flow is not None:
        return flow.title(language)
    return "Account activation" if language == "en" else "Aktivasi akun"


def _notify(
    session: AsyncSession, channel: str, state: State, person: Person, key: str, event: str
) -> None:
    language = person.language
    html = text(language, key, title=_title(state.flow, language))
    topic = state.flow if state.flow in FLOWS or state.flow == ACTIVATION else None
    interactions.record(
        session,
        channel=channel,
        direction="event",
        outcome=event,
        text=_title(state.flow, "id"),
        person=person,
        topic=topic,
    )
    outbound = Outbound(channel=Channel(channel), chat_id=state.chat_id, html=html)
    row = interactions.record(
        session,
        channel=channel,
        direction="out",
        outcome="queued",
        text=to_plain(html),
        person=person,
        topic=topic,
    )
    queues.enqueue(session, channel, state.chat_id, to_payload(outbound), interaction=row)


@dataclass(kw_only=True)
class FlowReminders(Worker):
    """Looks for idle flows every `config.check_every` seconds (one transaction a look)."""

    sessions: async_sessionmaker[AsyncSession]
    config: FlowConfig
    clock: Callable[[], datetime] = utcnow
    after_commit: Callable[[], None] | None = None
    looks: int = field(default=0, init=False)

    async def run(self) -> None:
        """Loop until `stop`; an error in one look is logged and the next look tries again."""
        while not self._stopping:
            await self.look()
            await self._pause(self.config.check_every)

    async def look(self) -> tuple[int, int]:
        """One look: remind and expire, committed together."""
        try:
            async with self.sessions.begin() as session:
                counts = await remind_and_expire(session, self.config, now=self.clock())
        except Exception:
            logger.exception("looking for idle guided flows failed; trying again later")
            return 0, 0
        self.looks += 1
        if any(counts):
            logger.info("guided flows: %s reminded, %s expired", *counts)
            if self.after_commit is not None:
                self.after_commit()
        return counts
