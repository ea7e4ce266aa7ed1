"""One inbound message being handled: who sent it and how to answer, inside one transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config import HelpdeskConfig
from handlers.delivery import to_payload
from handlers.markup import to_plain
from handlers.messages import Button, Channel, Inbound, MailInfo, Outbound
from storage import interactions, kv, queues, tickets
from storage.models import Conversation, Identity, Interaction, Person, Ticket

STAFF_CHAT_KEY = "staff_chat_id"


@dataclass
class Turn:
    """Handling of one `Inbound`; everything it writes commits or rolls back together."""

    session: AsyncSession
    inbound: Inbound
    identity: Identity
    config: HelpdeskConfig
    language: str
    conversation: Conversation | None = None  # as loaded with the sender
    open_ticket_id: int | None = None  # the sender's newest open ticket, as loaded

    @property
    def person(self) -> Person:
        """The sender."""
        return self.identity.person

    @property
    def is_staff(self) -> bool:
        """Whether the sender may act as staff."""
        return self.config.is_staff(self.inbound.channel, self.inbound.sender.external_id)

    async def staff_chat(self) -> tuple[str, str] | None:
        """The staff group, taking a migrated chat id into account."""
        if self.config.staff_chat is None:
            return None
        channel, chat_id = self.config.staff_chat
        moved = await kv.get(self.session, f"{channel}.{STAFF_CHAT_KEY}")
        return channel, moved or chat_id

    async def open_ticket(self) -> Ticket | None:
        """The sender's newest ticket that is not closed (loaded only when there is one)."""
        if self.open_ticket_id is None:
            return None
        ticket = await tickets.get_ticket(self.session, self.open_ticket_id)
        return ticket if ticket is not None and ticket.status != "closed" else None

    async def in_staff_chat(self) -> bool:
        """Whether the message came from the staff group."""
        staff = await self.staff_chat()
        return staff is not None and staff == (self.inbound.channel, self.inbound.chat_id)

    async def log_in(
        self, outcome: str, *, topic: str | None = None, ticket: Ticket | None = None
    ) -> Interaction:
        """Record the incoming message in the report."""
        attachments = _attachments(self.inbound)
        return interactions.record(
            self.session,
            channel=self.inbound.channel,
            direction="in",
            outcome=outcome,
            text=_report_text(self.inbound),
            person=self.person,
            topic=topic,
            ticket=ticket,
            handled_by=self.person.display_name if self.is_staff else "bot",
            handler=self.person if self.is_staff else None,
            attachments=attachments,
        )

    async def reply(
        self,
        html: str,
        *,
        buttons: tuple[tuple[Button, ...], ...] = (),
        topic: str | None = None,
        ticket: Ticket | None = None,
    ) -> None:
        """Answer in the chat the message came from."""
        outbound = Outbound(
            channel=self.inbound.channel,
            chat_id=self.inbound.chat_id,
            html=html,
            buttons=buttons,
            reply_to_ref=self.inbound.message_ref if self.inbound.is_group else None,
            subject=self.inbound.subject,
        )
        if self.inbound.mail is not None:  # an email answer continues the sender's thread
            outbound = replace(outbound, **email_thread(self.inbound.mail))
        await self.send(outbound, to=self.person, topic=topic, ticket=ticket)

    async def send(
        self,
        outbound: Outbound,
        *,
        to: Person | None,
        topic: str | None = None,
        ticket: Ticket | None = None,
        by_staff: bool = False,
    ) -> None:
        """Queue a message and record it in the report; it leaves after the commit.

        The report row says `queued` until the sender marks it delivered or failed.
        """
        row = interactions.record(
            self.session,
            channel=outbound.channel,
            direction="out",
            outcome="queued",
            text=to_plain(outbound.html),
            person=to,
            topic=topic,
            ticket=ticket,
            handled_by=self.person.display_name if by_staff else "bot",
            handler=self.person if by_staff else None,
        )
        queues.enqueue(
            self.session,
            outbound.channel,
            outbound.chat_id,
            to_payload(outbound),
            ticket_id=outbound.ticket_id or (ticket.id if ticket else None),
            interaction=row,
        )

    async def answer_callback(self, text: str = "") -> None:
        """Stop the spinner on a pressed button (Telegram), optionally with a short notice.

        Channels without such notices (the console) get the text as a plain reply.
        """
        if self.inbound.callback_ref is None:
            return
        if self.inbound.channel != Channel.TELEGRAM:
            if text:
                await self.reply(text)
            return
        outbound = Outbound(
            channel=self.inbound.channel,
            chat_id=self.inbound.chat_id,
            html=text,
            purpose="callback_answer",
            extra={"callback_id": self.inbound.callback_ref},
        )
        queues.enqueue(self.session, outbound.channel, outbound.chat_id, to_payload(outbound))


def _report_text(inbound: Inbound) -> str:
    """What the report shows for a message: its text, or what the person did instead."""
    if inbound.command is not None:
        return f"/{inbound.command} {inbound.args}".strip()
    if inbound.callback is not None:
        return f"[tombol {inbound.callback_label or inbound.callback}]"
    return inbound.text or (f"[{inbound.note}]" if inbound.note else "")


def _attachments(inbound: Inbound) -> dict[str, object] | None:
    if not inbound.attachments:
        return None
    return {
        "files": [
            {
                "kind": a.kind,
                "ref": a.ref,
                "name": a.name,
                "mime_type": a.mime_type,
                "size": a.size,
            }
            for a in inbound.attachments
        ]
    }


def email_thread(mail: MailInfo) -> dict[str, Any]:
    """In-Reply-To and References for an answer to this email."""
    # A mail without Message-ID is known by a digest (C21): nothing a reply could name.
    has_id = not mail.message_id.startswith("sha256:")
    return {
        "reply_to_ref": mail.message_id if has_id else None,
        "extra": {"references": " ".join(mail.references[-20:])},
    }
