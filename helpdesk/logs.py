"""Logging set-up for the command line: plain lines, and no secrets from libraries."""

from __future__ import annotations

import json
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
    # Alembic announces each of its plugins on import and its dialect at every start; the
    # migration's own line (created, upgraded, up to date) comes from storage.migrate.
    # Its errors are exceptions, so WARNING hides none of them.
    "alembic": logging.WARNING,
}


# PTB logs the JSON decoder's traceback when an answer is not JSON (an empty 404 from a
# proxy or a wrong base_url); the line itself says it all and the traceback only alarms.
_NOT_JSON_LOGGER = "telegram.request.BaseRequest"


class _NoDecoderTraceback(logging.Filter):
    """Drops the traceback of a JSON decoding error, keeping the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], json.JSONDecodeError):
            record.exc_info, record.exc_text = None, None
        return True


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
    not_json = logging.getLogger(_NOT_JSON_LOGGER)
    if not any(isinstance(f, _NoDecoderTraceback) for f in not_json.filters):
        not_json.addFilter(_NoDecoderTraceback())


def quiet_libraries(level: str) -> None:
    """Keep talkative libraries at their floor (URLs with the token, users' messages)."""
    for name, floor in _QUIET.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
