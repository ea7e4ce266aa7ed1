"""Receiving updates: each is stored before Telegram is told it arrived."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import random
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from handlers.health import StatusCallback, no_status
from handlers.messages import Channel
from storage import queues

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def store_updates(
    sessions: async_sessionmaker[AsyncSession], updates: list[dict[str, Any]]
) -> int:
    """Commit raw updates to the inbound store; one stored before is skipped."""
    items = [(str(u["update_id"]), u) for u in updates if isinstance(u, dict) and "update_id" in u]
    async with sessions.begin() as session:
        return await queues.store_inbound(session, Channel.TELEGRAM, items)


class Poller:
    """Long polling that moves the offset on only after the updates are committed.

    python-telegram-bot's own Updater confirms a batch before its handlers run, so a
    process killed mid-batch loses it; here the offset that confirms a batch is sent
    with the next request, after the commit.
    """

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        on_stored: Callable[[], None],
        *,
        timeout: int = 30,
        on_status: StatusCallback = no_status,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.on_stored = on_stored
        self.timeout = timeout
        self.on_status = on_status
        self.healthy = False
        self.received = 0

    async def run(self) -> None:
        """Poll until cancelled; network trouble is retried with backoff, never fatal."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self._fetch(offset)
            except InvalidToken:
                raise
            except (NetworkError, Conflict, TelegramError) as exc:
                failures += 1
                self.on_status("telegram", False, f"polling: {type(exc).__name__}")
                await self._back_off(exc, failures)
                continue
            if failures:
                logger.info("Telegram polling recovered after %s failures", failures)
            failures, self.healthy = 0, True
            self.on_status("telegram", True, "polling")
            if updates:
                await store_updates(self.sessions, updates)
                self.received += len(updates)
                self.on_stored()
                offset = max(int(u["update_id"]) for u in updates) + 1

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"timeout": self.timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            params["offset"] = offset
        # Raw JSON, not PTB's Update objects: an update PTB cannot parse must still be stored
        # (and shown to staff), never block polling. Bot API method names are
        # case-insensitive; the lower-case name keeps PTB from steering us to get_updates.
        result = await self.bot.do_api_request(
            "getupdates", api_kwargs=params, read_timeout=self.timeout + 10
        )
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def _back_off(self, exc: Exception, failures: int) -> None:
        self.healthy = False
        delay = min(60.0, 2.0 ** min(failures, 6)) * random.uniform(0.5, 1.0)
        log = logger.warning if failures in (1, 5) or failures % 20 == 0 else logger.debug
        log(
            "Telegram polling failed (%s, attempt %s); retrying in %.1f s",
            type(exc).__name__,
            failures,
            delay,
        )
        await asyncio.sleep(delay)


class WebhookServer:
    """Receives updates over HTTPS (behind a proxy); answers 200 only once they are stored."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_stored: Callable[[], None],
        *,
        secret_token: str,
        path: str = "/telegram",
        on_status: StatusCallback = no_status,
    ) -> None:
        self.sessions = sessions
        self.on_stored = on_stored
        self.on_status = on_status
        self.secret = secret_token.encode()
        self.path = path
        self.received = 0
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.router.add_post(path, self._receive)
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        logger.info("webhook listening on %s:%s%s", host, port, self.path)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            logger.warning(
                "webhook request without the right secret token from %s", request.remote
            )
            return web.Response(status=403, text="forbidden")
        try:
            update = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            logger.warning("webhook body is not JSON; refused")
            return web.Response(status=400, text="not JSON")
        if not isinstance(update, dict) or "update_id" not in update:
            return web.Response(status=400, text="not an update")
        await store_updates(self.sessions, [update])
        self.received += 1
        self.on_status("telegram", True, "webhook")
        self.on_stored()
        return web.Response(text="ok")
