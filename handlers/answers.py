"""Free text and topic buttons: knowledge-base answers, or an honest hand-over."""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers import lms_lookup
from handlers import tickets as ticket_flow
from handlers.flows import entry as flows
from handlers.knowledge import KnowledgeBase
from handlers.markup import esc
from handlers.matching import Match, Matcher
from handlers.messages import Button
from handlers.texts import plain, text
from handlers.turn import Turn
from storage import conversations, interactions, tickets
from storage.types import utcnow

logger = logging.getLogger(__name__)

HANDOVER_LOOKBACK = timedelta(hours=2)


class Answers:
    """Answers questions from the knowledge base."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher) -> None:
        self.kb = kb
        self.matcher = matcher

    async def question(self, turn: Turn) -> None:
        """A free-text message from a person (not staff acting on a ticket)."""
        waiting = turn.conversation
        if waiting is not None and waiting.kind == "staff_question":
            await conversations.finish(turn.session, turn.person.id, turn.inbound.channel)
            await self.hand_over(turn, turn.inbound.text)
            return
        if (
            waiting is not None
            and waiting.kind == lms_lookup.WAITING
            and await lms_lookup.answer_waiting(turn, waiting.data)
        ):
            return

        match = self.matcher.match(turn.inbound.text)
        if match.language == "en" and turn.language != "en":
            turn.language = "en"
        open_ticket = await turn.open_ticket()
        if open_ticket is not None and (match.topic is None or open_ticket.status == "claimed"):
            await ticket_flow.follow_up(turn, open_ticket)
            return
        await self._by_match(turn, match)

    async def _by_match(self, turn: Turn, match: Match) -> None:
        if match.topic is None:
            await self._unsure(turn, match)
            return
        action = self.kb.topics[match.topic].action
        if action == "handover":
            await self.hand_over(turn, turn.inbound.text, topic=match.topic)
        elif action == "ticket_status":
            await ticket_flow.list_mine(turn)
        elif match.topic == lms_lookup.TOPIC and turn.config.lms is not None:
            await lms_lookup.start(turn, message=turn.inbound.text)
        else:
            row = await turn.log_in("answered", topic=match.topic)
            await self._answer(turn, match.topic, row.ref or "")

    async def topic(self, turn: Turn, topic: str) -> None:
        """A topic button was pressed."""
        await turn.answer_callback()
        if topic not in self.kb.topics:
            return
        action = self.kb.topics[topic].action
        if action == "handover":
            await self.ask_for_staff(turn)
        elif action == "ticket_status":
            await ticket_flow.list_mine(turn)
        elif topic == lms_lookup.TOPIC and turn.config.lms is not None:
            await lms_lookup.start(turn, message="")
        else:
            row = await turn.log_in("answered", topic=topic)
            await self._answer(turn, topic, row.ref or "")

    async def helped(self, turn: Turn, ref: str) -> None:
        """The person said the answer helped."""
        row = await interactions.by_ref(turn.session, ref)
        topic = None if row is None or row.person_id != turn.person.id else row.topic
        await turn.log_in("helped", topic=topic)  # before the thanks, as the report reads
        await turn.answer_callback(text(turn.language, "helped_thanks"))

    async def hand_over_from(self, turn: Turn, ref: str) -> None:
        """The 'talk to staff' button: the question it was pressed under goes to staff."""
        await turn.answer_callback()
        row = await interactions.by_ref(turn.session, ref)
        if row is None or row.person_id != turn.person.id or not row.text:
            await self.ask_for_staff(turn)
            return
        await self.hand_over(turn, row.text, topic=row.topic)

    async def hand_over(self, turn: Turn, question: str, *, topic: str | None = None) -> None:
        """Open a ticket for `question` unless one is already open, then add to it."""
        open_ticket = await tickets.latest_open_ticket(turn.session, turn.person.id)
        if open_ticket is not None and turn.inbound.text:
            await ticket_flow.follow_up(turn, open_ticket)
            return
        if open_ticket is not None:
            await turn.log_in("pending", ticket=open_ticket)
            await turn.reply(
                text(turn.language, "ticket_pending", number=open_ticket.id), ticket=open_ticket
            )
            return
        title = (
            self.kb.title(topic, "id") if topic is not None and topic in self.kb.topics else "-"
        )
        await ticket_flow.hand_over(turn, question, topic=topic, topic_title=title)

    async def ask_for_staff(self, turn: Turn, args: str = "") -> None:
        """`/staf`: hand over now, with the question given, the last one, or the next one."""
        question = args.strip()
        if not question:
            since = utcnow() - HANDOVER_LOOKBACK
            question = await interactions.last_question(turn.session, turn.person.id, since) or ""
        if question:
            await self.hand_over(turn, question)
            return
        await conversations.start(
            turn.session, turn.person.id, turn.inbound.channel, "staff_question", {}
        )
        await turn.log_in("asked_question")
        await turn.reply(text(turn.language, "ask_for_staff"))

    async def _answer(self, turn: Turn, topic: str, ref: str) -> None:
        # Knowledge-base answers are plain text written by staff: shown, never parsed.
        body = self.kb.answer(topic, turn.language, turn.config.contact)
        buttons: tuple[tuple[Button, ...], ...] = ()
        if self.kb.topics[topic].action == "answer" and topic not in ("salam", "terima_kasih"):
            buttons = (
                (
                    Button(plain(turn.language, "button_helped"), f"ok:{ref}"),
                    Button(plain(turn.language, "button_staff"), f"h:{ref}"),
                ),
            )
            body = f"{esc(body)}\n\n{text(turn.language, 'answer_footer')}"
        else:
            body = esc(body)
        body, buttons = await flows.offer(turn, self.kb.topics[topic].flow, body, buttons)
        await turn.reply(body, buttons=buttons, topic=topic)

    async def _unsure(self, turn: Turn, match: Match) -> None:
        row = await turn.log_in("unsure" if match.candidates else "out_of_scope")
        rows = [(Button(self.kb.title(c, turn.language), f"k:{c}"),) for c in match.candidates]
        rows.append((Button(plain(turn.language, "button_staff"), f"h:{row.ref}"),))
        key = "not_sure" if match.candidates else "out_of_scope"
        await turn.reply(text(turn.language, key), buttons=tuple(rows))
