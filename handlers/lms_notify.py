"""Messages and report rows written by the LMS worker, outside any inbound message's turn."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config import HelpdeskConfig
from handlers.delivery import to_payload
from handlers.markup import to_plain
from handlers.messages import Button, Channel, Outbound
from handlers.turn import STAFF_CHAT_KEY
from storage import interactions, kv, queues
from storage.models import Person, Ticket

Buttons = tuple[tuple[Button, ...], ...]


@dataclass
class Writer:
    """Writes through one transaction; rows name `staff` (who approved) as the handler."""

    session: AsyncSession
    config: HelpdeskConfig
    staff: Person | None = None

    def event(
        self, outcome: str, text: str, *, ticket: Ticket | None, person: Person | None
    ) -> None:
        """An LMS action in the E-learning report, attributed to the approving staff member."""
        interactions.record(
            self.session,
            channel="lms",
            direction="event",
            outcome=outcome,
            text=text,
            person=person,
            topic=None if ticket is None else ticket.topic,
            ticket=ticket,
            handled_by=self._handled_by(),
            handler=self.staff,
        )

    def to_person(
        self,
        person: Person,
        channel: str,
        chat_id: str,
        html: str,
        *,
        ticket: Ticket | None = None,
        topic: str | None = None,
        buttons: Buttons = (),
        subject: str | None = None,
    ) -> None:
        """A message to a requester on the channel they wrote from."""
        if subject is None and ticket is not None:
            subject = f"[#{ticket.id}]"
        outbound = Outbound(
            channel=Channel(channel),
            chat_id=chat_id,
            html=html,
            buttons=buttons,
            ticket_id=None if ticket is None else ticket.id,
            subject=subject,
        )
        self._queue(outbound, person=person, ticket=ticket, topic=topic)

    def to_requester(self, ticket: Ticket, html: str) -> None:
        """A message to the person who opened `ticket`."""
        self.to_person(
            ticket.requester,
            ticket.channel,
            ticket.chat_id,
            html,
            ticket=ticket,
            topic=ticket.topic,
        )

    async def to_staff(
        self, html: str, *, ticket: Ticket, buttons: Buttons = (), purpose: str = "notice"
    ) -> bool:
        """A message to the staff group; False when no staff group is set."""
        if self.config.staff_chat is None:
            return False
        channel, chat_id = self.config.staff_chat
        chat_id = await kv.get(self.session, f"{channel}.{STAFF_CHAT_KEY}") or chat_id
        outbound = Outbound(
            channel=Channel(channel),
            chat_id=chat_id,
            html=html,
            buttons=buttons,
            purpose=purpose,
            ticket_id=ticket.id,
        )
        self._queue(outbound, person=None, ticket=ticket, topic=ticket.topic)
        return True

    def _queue(
        self,
        outbound: Outbound,
        *,
        person: Person | None,
        ticket: Ticket | None,
        topic: str | None,
    ) -> None:
        row = interactions.record(
            self.session,
            channel=outbound.channel,
            direction="out",
            outcome="queued",
            text=to_plain(outbound.html),
            person=person,
            topic=topic,
            ticket=ticket,
            handled_by=self._handled_by(),
            handler=self.staff,
        )
        queues.enqueue(
            self.session,
            outbound.channel,
            outbound.chat_id,
            to_payload(outbound),
            ticket_id=outbound.ticket_id,
            interaction=row,
        )

    def _handled_by(self) -> str:
        return "bot" if self.staff is None else self.staff.display_name
