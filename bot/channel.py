"""The Telegram channel: python-telegram-bot's Application, our intake and our transport."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application, ApplicationBuilder

from bot.decode import decode_update
from bot.intake import ALLOWED_UPDATES, Poller, WebhookServer
from bot.lanes import LaneRequest
from bot.ratelimit import WindowRateLimiter
from bot.transport import TelegramTransport
from handlers.health import StatusCallback, no_status
from handlers.messages import Inbound

logger = logging.getLogger(__name__)

# The outbox sender's eight sends in flight, the long poll and one for anything else.
LANES = 10


@dataclass(frozen=True)
class TelegramOptions:
    """What the channel needs from the settings."""

    token: str
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: str = "polling"
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str | None = None
    poll_timeout: int = 30
    rate_limit: bool = True


class TelegramChannel:
    """Starts and stops the bot; offers the decoder, the transport and the intake task.

    The Application is built without its Updater: our intake stores each update before
    confirming it, which the Updater does not (see `bot.intake.Poller`).
    """

    def __init__(
        self, options: TelegramOptions, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.options = options
        self.sessions = sessions
        self.application = self._build()
        self.transport = TelegramTransport(self.application.bot)
        self.username = ""
        self.on_stored: Callable[[], None] = lambda: None
        self.on_status: StatusCallback = no_status
        self.poller: Poller | None = None
        self.webhook: WebhookServer | None = None

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        builder = (
            ApplicationBuilder()
            .token(self.options.token)
            .base_url(self.options.base_url)
            .base_file_url(self.options.base_file_url)
            .updater(None)
            .request(LaneRequest(LANES))
        )
        if self.options.rate_limit:
            # Keeps us under Telegram's overall and per-group limits; a 429 that still comes
            # is handed back to our outbox, which waits as told.
            limiter: Any = WindowRateLimiter()
            builder = builder.rate_limiter(limiter)
        return builder.build()

    def decode(self, payload: dict[str, Any]) -> Inbound | None:
        """Stored update to `Inbound` (for the processor)."""
        return decode_update(payload, bot_username=self.username)

    async def start(self) -> None:
        """Check the token (getMe) and set up webhook or polling."""
        await self.application.initialize()
        self.username = self.application.bot.username
        logger.info("connected to Telegram as @%s", self.username)
        if self.options.mode == "webhook":
            await self._start_webhook()
        else:
            await self.application.bot.delete_webhook()

    async def run_intake(self) -> None:
        """Receive updates until cancelled (webhook mode: the server already listens)."""
        if self.options.mode == "webhook":
            await asyncio.Event().wait()
            return
        self.poller = Poller(
            self.application.bot,
            self.sessions,
            self.on_stored,
            timeout=self.options.poll_timeout,
            on_status=self.on_status,
        )
        await self.poller.run()

    @property
    def received(self) -> int:
        """Updates stored since start, by polling or webhook."""
        intake = self.poller or self.webhook
        return intake.received if intake is not None else 0

    async def stop(self) -> None:
        """Stop receiving and close the HTTP client."""
        if self.webhook is not None:
            await self.webhook.stop()
        await self.application.shutdown()
        logger.info("Telegram channel stopped")

    async def _start_webhook(self) -> None:
        secret = self.options.secret_token or ""
        self.webhook = WebhookServer(
            self.sessions, lambda: self.on_stored(), secret_token=secret, on_status=self.on_status
        )
        await self.webhook.start(self.options.listen, self.options.port)
        await self.application.bot.set_webhook(
            url=self.options.webhook_url or "",
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        self.on_status("telegram", True, "webhook set")
