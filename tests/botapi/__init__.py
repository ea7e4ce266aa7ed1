"""A fake Telegram Bot API server that the real python-telegram-bot client talks to."""

from .errors import ApiError
from .server import FakeBotApi
from .state import Call, SentMessage

__all__ = ["ApiError", "Call", "FakeBotApi", "SentMessage"]
