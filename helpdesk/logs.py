"""Logging set-up for the command line: plain lines, and no secrets from libraries."""

from __future__ import annotations

import logging

# httpx logs every request URL at INFO, and every Bot API URL contains the bot token.
_QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.INFO,
    "apscheduler": logging.WARNING,
    "telegram.ext": logging.INFO,
}


def configure(level: str = "INFO") -> None:
    """Send log lines to stderr at `level`."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name, floor in _QUIET.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
