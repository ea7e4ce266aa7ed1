"""The helpdesk: takes one inbound message and decides every answer and ticket event."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import email_flow, limits, lms_staff, training_chat, workflow_chat
from handlers import tickets as ticket_flow
from handlers.answers import Answers
from handlers.config import HelpdeskConfig
from handlers.delivery import to_payload
from handlers.flows import entry as flows
from handlers.knowledge import KnowledgeBase
from handlers.markup import shorten
from handlers.matching import Matcher
from handlers.messages import Button, Channel, Inbound, Outbound
from handlers.texts import text
from handlers.turn import STAFF_CHAT_KEY, Turn
from schedules.config import ScheduleConfig
from storage import conversations, kv, people, queues, tickets
from storage.types import utcnow

logger = logging.getLogger(__name__)

REF = re.compile(r"[0-9a-f]{1,16}")
TICKET_IN_CARD = re.compile(r"Tiket #(\d+)")


class Helpdesk:
    """Channel-independent behaviour of the helpdesk."""

    def __init__(self, config: HelpdeskConfig, kb: KnowledgeBase, matcher: Matcher) -> None:
        self.config = config
        self.kb = kb
        self.answers = Answers(kb, matcher)
        self._read_ahead: dict[tuple[str, str], people.Known] = {}
        self.schedule = ScheduleConfig()  # trainings and workflows; set from the settings

    async def prepare(self, session: AsyncSession, batch: Sequence[Inbound]) -> None:
        """Read ahead, in one query, the senders of a batch who appear in it once, and
        create in one flush those never seen before.

        A sender with several messages in the batch is read per message instead: an earlier
        message may change what the next one must see (a ticket, a question awaited). Email
        senders are only read: mail that is screened out (a bounce, an auto-reply) must not
        create a person.
        """
        counts = Counter((i.channel.value, i.sender.external_id) for i in batch)
        self._read_ahead = {}
        for channel in {channel for channel, _ in counts}:
            once = {sender for (ch, sender), n in counts.items() if ch == channel and n == 1}
            if not once:
                continue
            found = await people.known_senders(session, channel, sorted(once))
            self._read_ahead.update({(channel, key): k for key, k in found.items()})
            newcomers = [
                (i.sender.external_id, i.sender.display_name, self._language(i))
                for i in batch
                if i.channel.value == channel
                and i.mail is None
                and i.sender.external_id in once
                and i.sender.external_id not in found
            ]
            if newcomers:
                created = await people.create_many(session, channel, newcomers)
                self._read_ahead.update({(channel, key): k for key, k in created.items()})

    def _ahead(self, session: AsyncSession, inbound: Inbound) -> people.Known | None:
        known = self._read_ahead.pop((inbound.channel.value, inbound.sender.external_id), None)
        # After a failed batch is rolled back, what it read ahead belongs to a dead session.
        return known if known is not None and known.identity in session else None

    async def handle(self, session: AsyncSession, inbound: Inbound) -> None:
        """Handle one message; every write goes through `session` and commits together."""
        if inbound.mail is not None and await email_flow.screen(self, session, inbound):
            return
        turn = await self._turn(session, inbound)
        # Before email's own handling, or an oversized email would open a ticket first.
        if await limits.refuse_oversized(turn):
            return
        if inbound.mail is not None and await email_flow.intercept(self, turn):
            return
        if inbound.event is not None:
            await self._membership(turn, inbound.event)
            return
        if inbound.callback is not None:
            await self._callback(turn, inbound.callback)
        elif inbound.command is not None:
            await self._command(turn, inbound.command, inbound.args)
        elif inbound.is_group:
            await self._group_message(turn)
        else:
            await self._private_message(turn)

    async def report_failure(
        self,
        session: AsyncSession,
        inbound: Inbound | None,
        payload: dict[str, Any],
        error: str,
        attempts: int,
    ) -> None:
        """Apologise to the sender and show the failed input to staff."""
        name, channel, body = "?", "?", shorten(str(payload), 500)
        # No apology to mail that must not be answered automatically (a bounce, a list).
        quiet = (
            inbound is not None and inbound.mail is not None and not inbound.mail.may_auto_reply
        )
        if inbound is not None and not quiet:
            turn = await self._turn(session, inbound)
            await turn.log_in("failed")
            await turn.reply(text(turn.language, "error_apology"))
        if inbound is not None:
            name, channel, body = inbound.sender.display_name, inbound.channel, inbound.text
        staff = self.config.staff_chat
        if staff is None:
            return
        moved = await kv.get(session, f"{staff[0]}.{STAFF_CHAT_KEY}")
        notice = text(
            "id",
            "failed_input",
            name=name,
            channel=channel,
            attempts=attempts,
            error=shorten(error, 300),
            text=shorten(body or "-", 500),
        )
        outbound = Outbound(channel=Channel(staff[0]), chat_id=moved or staff[1], html=notice)
        queues.enqueue(session, outbound.channel, outbound.chat_id, to_payload(outbound))

    def _language(self, inbound: Inbound) -> str:
        """A newcomer's language: English if their client says so, else the default."""
        return "en" if (inbound.sender.language or "").startswith("en") else self.config.language

    async def _turn(self, session: AsyncSession, inbound: Inbound) -> Turn:
        language = self._language(inbound)
        known = await people.identify_with_context(
            session,
            inbound.channel,
            inbound.sender.external_id,
            inbound.sender.display_name,
            language=language,
            known=self._ahead(session, inbound),
        )
        identity = known.identity
        if self.config.is_staff(inbound.channel, inbound.sender.external_id):
            identity.person.role = "staf"
        if identity.unreachable_at is not None and inbound.event != "blocked":
            # Writing to us again means the person can be reached again.
            identity.unreachable_at = None
            logger.info(
                "%s user %s is reachable again", inbound.channel, inbound.sender.external_id
            )
        return Turn(
            session=session,
            inbound=inbound,
            identity=identity,
            config=self.config,
            language=identity.person.language,
            conversation=known.conversation,
            open_ticket_id=known.open_ticket_id,
        )

    async def _membership(self, turn: Turn, event: str) -> None:
        blocked = event == "blocked"
        turn.identity.unreachable_at = utcnow() if blocked else None
        await turn.log_in(event)
        logger.info(
            "%s user %s %s the bot", turn.inbound.channel, turn.inbound.sender.external_id, event
        )

    async def _callback(self, turn: Turn, data: str) -> None:
        kind, _, rest = data.partition(":")
        if kind == "k":
            await self.answers.topic(turn, rest)
        elif kind == "ok" and REF.fullmatch(rest):
            await self.answers.helped(turn, rest)
        elif kind == "h" and REF.fullmatch(rest):
            await self.answers.hand_over_from(turn, rest)
        elif kind == "t":
            await self._ticket_button(turn, rest)
        elif kind == "l":
            await lms_staff.button(turn, rest)
        elif kind == "f":
            await flows.button(turn, rest)
        elif kind == "tr":
            await training_chat.button(turn, rest, self.schedule)
        elif kind == "w":
            await workflow_chat.button(turn, rest, self.schedule)
        else:
            logger.debug("unknown button data %r", data)
            await turn.answer_callback()

    async def _ticket_button(self, turn: Turn, rest: str) -> None:
        action, _, number = rest.partition(":")
        if not number.isdigit():
            await turn.answer_callback()
            return
        if action == "c":
            await ticket_flow.claim(turn, int(number))
        elif action == "x":
            await ticket_flow.close(turn, int(number))
        elif action == "d":
            await flows.done(turn, int(number))
        else:
            await turn.answer_callback()

    async def _command(self, turn: Turn, command: str, args: str) -> None:
        in_staff_chat = await turn.in_staff_chat()
        # Groups: only commands written to us by name (/cmd@bot), except in our staff group.
        if turn.inbound.is_group and not (turn.inbound.mentioned or in_staff_chat):
            logger.debug("bare /%s in group %s ignored", command, turn.inbound.chat_id)
            return
        if in_staff_chat and command == "tiket":
            await ticket_flow.list_open(turn)
        elif command == "id":
            # For set-up: staff add the bot to their group and ask it for the group's id.
            await turn.log_in("chat_id")
            await turn.reply(text(turn.language, "chat_id", chat_id=turn.inbound.chat_id))
        elif command == "start":
            await turn.log_in("welcomed")
            await turn.reply(text(turn.language, "welcome", name=turn.person.display_name))
        elif command in ("bantuan", "help"):
            await self._topics(turn)
        elif command == "tiket":
            await ticket_flow.list_mine(turn)
        elif command == "staf":
            await self.answers.ask_for_staff(turn, args)
        elif command == "batal":
            await self._cancel(turn)
        elif command in flows.COMMANDS:
            await flows.command(turn, command)
        elif command in training_chat.COMMANDS:
            await training_chat.command(turn, command, args, self.schedule)
        elif command == "alur":
            await workflow_chat.command(turn, args, self.schedule)
        elif args or turn.inbound.attachments:
            # Another bot's habit (/new ...) or a caption starting with a slash: read the text.
            turn.inbound = replace(turn.inbound, command=None, text=args)
            await self._private_message(turn)
        else:
            await turn.log_in("unknown_command")
            await turn.reply(text(turn.language, "unknown_command"))

    async def _topics(self, turn: Turn) -> None:
        await turn.log_in("help")
        ids = [
            t
            for t, topic in self.kb.topics.items()
            if topic.action not in ("none",) and t not in ("salam", "terima_kasih")
        ]
        rows: tuple[tuple[Button, ...], ...] = tuple(
            (Button(self.kb.title(t, turn.language), f"k:{t}"),) for t in ids
        )
        rows += flows.menu_buttons(turn)
        await turn.reply(text(turn.language, "help_intro"), buttons=rows)

    async def _cancel(self, turn: Turn) -> None:
        cancelled = await conversations.finish(turn.session, turn.person.id, turn.inbound.channel)
        await turn.log_in("cancelled" if cancelled else "nothing_to_cancel")
        await turn.reply(text(turn.language, "cancelled" if cancelled else "nothing_to_cancel"))

    async def _group_message(self, turn: Turn) -> None:
        inbound = turn.inbound
        if not await turn.in_staff_chat() or inbound.reply_to_ref is None:
            logger.debug("group chatter in %s ignored", inbound.chat_id)
            return
        ticket = await tickets.ticket_for_message(
            turn.session, inbound.channel, inbound.chat_id, inbound.reply_to_ref
        )
        if ticket is None and inbound.reply_to_text:
            # The card may be quoted before its delivery was recorded; it names its ticket.
            found = TICKET_IN_CARD.search(inbound.reply_to_text)
            ticket = await tickets.get_ticket(turn.session, int(found[1])) if found else None
        if ticket is not None:
            await ticket_flow.staff_reply(turn, ticket)

    async def _private_message(self, turn: Turn) -> None:
        inbound = turn.inbound
        if inbound.is_edit:
            await turn.log_in("edited")
            return
        if inbound.attachments and inbound.attachments[0].kind != "sticker":
            await self._file(turn)
        elif inbound.text and await flows.on_text(turn):
            return
        elif inbound.text:
            await self.answers.question(turn)
        else:
            await self._hint(turn)

    async def _file(self, turn: Turn) -> None:
        # The bot cannot read a screenshot or a document: files always go to a person.
        open_ticket = await turn.open_ticket()
        if open_ticket is not None:
            await ticket_flow.follow_up(turn, open_ticket)
            return
        kind = turn.inbound.attachments[0].kind
        await self.answers.hand_over(turn, turn.inbound.text or f"[{kind}]")

    async def _hint(self, turn: Turn) -> None:
        inbound = turn.inbound
        hint = {"location": "location_hint", "contact": "contact_received"}.get(
            inbound.note or "", "sticker_hint"
        )
        await turn.log_in("hinted")
        await turn.reply(text(turn.language, hint))
