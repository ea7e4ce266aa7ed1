"""Helpers for handler tests: a helpdesk, people and their messages, one turn."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import HelpdeskConfig
from handlers.knowledge import KnowledgeBase
from handlers.matching import Matcher
from handlers.messages import Channel, Inbound, Sender
from handlers.service import Helpdesk
from mail.decode import to_inbound
from mail.parsing import parse_message
from schedules.config import ScheduleConfig
from storage.models import OutboxMessage

Sessions = async_sessionmaker[AsyncSession]
STAFF_CHAT = "-100500"
STAFF_ID = "900"
OUR_ADDRESS = "elearning@unr.ac.id"


def make_helpdesk(kb: KnowledgeBase) -> Helpdesk:
    config = HelpdeskConfig(
        staff_ids={"telegram": frozenset({STAFF_ID})}, staff_chat=("telegram", STAFF_CHAT)
    )
    helpdesk = Helpdesk(config, kb, Matcher(kb))
    # With SMTP: a workflow partner known only by email gets the step by email.
    helpdesk.schedule = ScheduleConfig(staff_chat=("telegram", STAFF_CHAT), sends_email=True)
    return helpdesk


def user(text: str = "", *, user: str = "111", **fields: object) -> Inbound:
    sender = Sender(user, f"Orang {user}", "id")
    return replace(Inbound(Channel.TELEGRAM, sender, user, text=text), **fields)  # type: ignore[arg-type]


def command(name: str, args: str = "", *, user_id: str = "111") -> Inbound:
    return user(f"/{name} {args}".strip(), user=user_id, command=name, args=args)


def email_in(
    sender: str, subject: str, body: str, *, file: bytes | None = None, **headers: str
) -> Inbound:
    """An email as it comes out of the real MIME parser and decoder; `file` is a PDF."""
    message = EmailMessage()
    message["From"] = f"Bagian Akademik <{sender}>"
    message["To"] = OUR_ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((sender, subject, body)))}@univx.ac.id>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    if file is not None:
        message.add_attachment(file, "application", "pdf", filename="sertifikat.pdf")
    return to_inbound(parse_message(message.as_bytes()), own=(OUR_ADDRESS,))


def press(data: str, *, user_id: str = "111", group: bool = False) -> Inbound:
    chat = STAFF_CHAT if group else user_id
    sender = Sender(user_id, f"Orang {user_id}", "id")
    return Inbound(
        Channel.TELEGRAM, sender, chat, callback=data, callback_ref=f"cb-{data}", is_group=group
    )


def staff(name: str, args: str = "") -> Inbound:
    sender = Sender(STAFF_ID, "Staf Ayu", "id")
    return Inbound(
        Channel.TELEGRAM,
        sender,
        STAFF_CHAT,
        text=f"/{name} {args}".strip(),
        command=name,
        args=args,
        is_group=True,
    )


async def handle(sessions: Sessions, helpdesk: Helpdesk, inbound: Inbound) -> list[OutboxMessage]:
    """Handle one message and return what it queued (callback answers left out)."""
    async with sessions.begin() as session:
        before = await session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
        await helpdesk.handle(session, inbound)
    async with sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.id > (before or 0))
        rows = (await session.scalars(query.order_by(OutboxMessage.id))).all()
    return [m for m in rows if m.payload["purpose"] != "callback_answer"]


def buttons(message: OutboxMessage) -> list[str]:
    return [data for row in message.payload["buttons"] for _, data in row]
