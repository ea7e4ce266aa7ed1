"""One question answered the way the bot would, as data (for `helpdesk ask`)."""

from __future__ import annotations

from typing import Any

from handlers.markup import to_plain
from handlers.service import Helpdesk
from handlers.texts import text


def answer_json(helpdesk: Helpdesk, question: str) -> dict[str, Any]:
    """{"topic", "confidence", "escalate", "answer"} for `question`; nothing is stored."""
    match = helpdesk.answers.matcher.match(question)
    language = match.language
    topic = match.topic
    if topic is None:
        answer = to_plain(text(language, "not_sure" if match.candidates else "out_of_scope"))
    elif helpdesk.kb.topics[topic].action == "handover":
        answer = to_plain(text(language, "ask_for_staff"))
    else:
        answer = helpdesk.kb.answer(topic, language, helpdesk.config.contact)
    return {
        "topic": topic,
        "confidence": round(match.confidence, 3),
        "escalate": match.escalate,
        "answer": answer,
    }
