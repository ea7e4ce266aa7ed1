"""Input too large to take: refused with a message to the sender and recorded, never held.

A refused message is recorded in the report with a bounded preview, so a 100,000-character
text does not become a 100,000-character report row; an announced file over the limit is
never fetched and opens no ticket.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from handlers.texts import text as base_text
from handlers.texts_reliability import text
from handlers.turn import Turn

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 500
MB = 1024 * 1024


async def refuse_oversized(turn: Turn) -> bool:
    """Refuse the message if it is too large; True when it was refused (and answered).

    Mail that must not be answered automatically (lists, auto-replies) is left to the
    email rules, which pass it to staff quietly with its text already cut by the parser.
    """
    inbound, config = turn.inbound, turn.config
    if inbound.mail is not None and not inbound.mail.may_auto_reply:
        return False
    too_big = [a for a in inbound.attachments if _size(a.size) > config.max_file_bytes]
    # An email body over the limit arrives cut to it by the parser, marked as cut.
    cut = inbound.mail is not None and inbound.mail.text_truncated
    if len(inbound.text) > config.max_text_chars or cut:
        length = len(inbound.text)
        shown: object = length
        if cut:
            limit = config.max_text_chars
            shown = ("more than {}" if turn.language == "en" else "lebih dari {}").format(limit)
        turn.inbound = replace(inbound, text=_preview(inbound.text))
        logger.info("message of %s characters from %s refused", shown, inbound.sender.external_id)
        await turn.log_in("too_long")
        await turn.reply(
            base_text(turn.language, "too_long", length=shown, limit=config.max_text_chars)
        )
        return True
    if too_big:
        size = _size(too_big[0].size)
        logger.info(
            "%s of %.1f MB from %s refused", too_big[0].kind, size / MB, inbound.sender.external_id
        )
        await turn.log_in("too_big")
        await turn.reply(
            text(
                turn.language,
                "file_too_big",
                size_mb=f"{size / MB:.1f}",
                limit_mb=f"{config.max_file_bytes / MB:g}",
            )
        )
        return True
    return False


def _size(value: object) -> int:
    # Sizes come from the sender's side; anything unreadable counts as unknown (0).
    if not isinstance(value, int | float | str):
        return 0
    try:
        return max(0, int(value))
    except (ValueError, OverflowError):
        return 0


def _preview(value: str) -> str:
    return f"{value[:PREVIEW_CHARS]}… [{len(value)} karakter]"
