"""Files people sent on Telegram, fetched back through getFile to forward them by email."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest

logger = logging.getLogger(__name__)

PREFIX = "telegram:"


class TelegramFiles:
    """A `FileLoader` for `telegram:<file_id>` refs; None when Telegram will not give it.

    Bots may fetch files up to 20 MB; `limits.max_file_mb` keeps what is accepted below that.
    A network failure is raised, so the sender tries the message again later.
    """

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def __call__(self, ref: str) -> bytes | None:
        file_id = ref.removeprefix(PREFIX)
        try:
            found = await self.bot.get_file(file_id)
            return bytes(await found.download_as_bytearray())
        except BadRequest as exc:  # an unknown or expired file id, or a file too big
            logger.warning("Telegram file %s cannot be fetched: %s", file_id, exc.message)
            return None
