"""Logging set-up for the command line: plain lines, and no secrets from libraries."""

from __future__ import annotations

import logging

from handlers.redact import RedactingFilter, protect

# httpx logs every request URL at INFO, and every Bot API URL contains the bot token.
_QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.INFO,
    "apscheduler": logging.WARNING,
    # At DEBUG python-telegram-bot logs every request's arguments and every answer whole:
    # all users' messages, shared phone numbers included.
    "telegram": logging.INFO,
}


def configure(level: str = "INFO", *, secrets: tuple[str | None, ...] = ()) -> None:
    """Send log lines to stderr at `level`, with `secrets` (and any registered later)
    blanked in every line."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    protect(*secrets)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    quiet_libraries(level)


def quiet_libraries(level: str) -> None:
    """Keep talkative libraries at their floor (URLs with the token, users' messages)."""
    for name, floor in _QUIET.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
