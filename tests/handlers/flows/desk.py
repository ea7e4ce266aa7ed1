"""A helpdesk driven message by message, with what it queued and recorded (for flow tests)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import EmailRules, HelpdeskConfig
from handlers.flows.config import FlowConfig
from handlers.knowledge import KnowledgeBase
from handlers.lms_port import LmsConfig
from handlers.matching import Matcher
from handlers.messages import Channel, Inbound, Sender
from handlers.service import Helpdesk
from storage.models import Conversation, Interaction, OutboxMessage, Ticket

STAFF_CHAT = "-100500"
STAFF_ID = "900"
FACULTIES = {
    "Fakultas Teknik": ("Teknik Sipil", "Teknik Informatika"),
    "Fakultas Ekonomi": ("Manajemen",),
}
_KB: list[KnowledgeBase] = []


def make_helpdesk(
    *, lms: LmsConfig | None = None, email: EmailRules | None = None, **flow_options: Any
) -> Helpdesk:
    if not _KB:
        _KB.append(KnowledgeBase.load())
    config = HelpdeskConfig(
        staff_ids={"telegram": frozenset({STAFF_ID})},
        staff_chat=("telegram", STAFF_CHAT),
        contact={"lms_url": "https://sunari.unr.example"},
        flows=FlowConfig(faculties=FACULTIES, **flow_options),
        lms=lms,
        email=email,
    )
    return Helpdesk(config, _KB[0], Matcher(_KB[0]))


@dataclass
class Sent:
    """One queued message, read back from the outbox."""

    channel: str
    chat_id: str
    html: str
    buttons: list[tuple[str, str]]
    subject: str | None

    def data(self, label_part: str) -> str:
        for label, data in self.buttons:
            if label_part in label:
                return data
        raise AssertionError(f"no button {label_part!r} in {self.buttons}")


class Desk:
    """Sends what people do to `Helpdesk.handle` and returns what it queued."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk) -> None:
        self.sessions = sessions
        self.helpdesk = helpdesk
        self.presses = 0

    async def handle(self, inbound: Inbound) -> list[Sent]:
        async with self.sessions.begin() as session:
            before = await session.scalar(
                select(OutboxMessage.id).order_by(OutboxMessage.id.desc())
            )
            await self.helpdesk.handle(session, inbound)
        async with self.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.id > (before or 0))
            rows = (await session.scalars(query.order_by(OutboxMessage.id))).all()
        return [
            Sent(
                m.channel,
                m.chat_id,
                m.payload["html"],
                [(b[0], b[1]) for row in m.payload["buttons"] for b in row],
                m.payload.get("subject"),
            )
            for m in rows
            if m.payload["purpose"] != "callback_answer"
        ]

    async def say(
        self, text: str, *, user: str = "111", channel: Channel = Channel.TELEGRAM, **more: Any
    ) -> list[Sent]:
        sender = Sender(user, more.pop("name", f"Pengguna {user}"), more.pop("language", "id"))
        inbound = Inbound(channel, sender, user, text=text)
        if text.startswith("/"):
            word, _, args = text[1:].partition(" ")
            inbound = replace(inbound, text="", command=word, args=args)
        return await self.handle(replace(inbound, **more))

    async def press(self, data: str, *, user: str = "111") -> list[Sent]:
        self.presses += 1
        sender = Sender(user, f"Pengguna {user}", "id")
        inbound = Inbound(
            Channel.TELEGRAM, sender, user, callback=data, callback_ref=f"q{self.presses}"
        )
        return await self.handle(inbound)

    async def staff(self, data: str = "", *, text: str = "", ticket: int = 0) -> list[Sent]:
        """Staff press a card button, or reply (quoting the card of `ticket`)."""
        self.presses += 1
        sender = Sender(STAFF_ID, "Staf Ayu", "id")
        base = Inbound(Channel.TELEGRAM, sender, STAFF_CHAT, is_group=True)
        if data:
            return await self.handle(replace(base, callback=data, callback_ref=f"s{self.presses}"))
        quoted = f"🎫 Tiket #{ticket} · menunggu staf"
        return await self.handle(
            replace(base, text=text, reply_to_ref="card", reply_to_text=quoted)
        )

    async def tickets(self) -> list[Ticket]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Ticket).order_by(Ticket.id))).all())

    async def report(self) -> list[Interaction]:
        async with self.sessions() as session:
            query = select(Interaction).order_by(Interaction.id)
            return list((await session.scalars(query)).all())

    async def conversations(self) -> list[Conversation]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Conversation))).all())


def to(sent: list[Sent], chat: str) -> list[Sent]:
    return [s for s in sent if s.chat_id == chat]
