"""A bare python-telegram-bot echo bot: the baseline the helpdesk is compared with.

Reads BENCH_TOKEN, BENCH_BASE_URL and BENCH_BASE_FILE_URL from the environment (the token
stays out of the process list) and polls until SIGTERM or SIGINT.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the text received."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def main() -> None:
    """Build the application and poll without pauses between requests."""
    application = (
        ApplicationBuilder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(os.environ["BENCH_BASE_URL"])
        .base_file_url(os.environ["BENCH_BASE_FILE_URL"])
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
