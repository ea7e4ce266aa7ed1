"""The real service, in this process, against the Bot API test server over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from helpdesk.app import Service
from helpdesk.settings import ContactSettings, Settings, StaffSettings, TelegramSettings
from storage.database import create_engine, session_factory
from storage.models import Interaction, Ticket
from tests.botapi.server import FakeBotApi
from tests.botapi.state import SentMessage

STAFF_GROUP = -1001234567890
STAFF_ID = 900
STUDENT_ID = 111


def settings_for(
    api: FakeBotApi,
    database_url: str,
    *,
    state_dir: Path | None = None,
    delivery: Literal["inline", "process"] = "inline",
    **telegram: Any,
) -> Settings:
    """In-process tests send inline by default: their assertions read the sender's logs."""
    """Settings that point the service at the test server and the test database."""
    return Settings(
        database_url=database_url,
        state_dir=state_dir,
        delivery=delivery,
        telegram=TelegramSettings.model_validate(
            {
                "token": api.token,
                "base_url": api.base_url,
                "base_file_url": api.base_file_url,
                "staff_chat_id": STAFF_GROUP,
                "poll_timeout": 1,
                **telegram,
            }
        ),
        staff=StaffSettings(telegram_ids=[STAFF_ID]),
        contact=ContactSettings(helpdesk_email="helpdesk@unr.example"),
    )


class RunningHelpdesk:
    """Starts, stops and restarts the service as `helpdesk run` would."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.service: Service | None = None

    async def start(self) -> None:
        self.service = Service(self.settings)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.service.run(self._stop))

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 15)
        self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def query(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run `fn(session)` on a separate engine, as an outside reader would."""
        engine = create_engine(self.settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    async def tickets(self) -> list[Ticket]:
        async def load(session: Any) -> list[Ticket]:
            return list((await session.scalars(select(Ticket).order_by(Ticket.id))).all())

        result: list[Ticket] = await self.query(load)
        return result

    async def report(self) -> list[Interaction]:
        async def load(session: Any) -> list[Interaction]:
            query = select(Interaction).order_by(Interaction.id)
            return list((await session.scalars(query)).all())

        result: list[Interaction] = await self.query(load)
        return result


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until `check()` holds: for effects visible only in the database."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


def button(message: SentMessage, prefix: str) -> str:
    """The callback data of the first button on `message` whose data starts with `prefix`."""
    for item in message.buttons:
        if str(item.get("callback_data", "")).startswith(prefix):
            return str(item["callback_data"])
    raise AssertionError(f"no button {prefix!r} on {message.text[:80]!r}: {message.buttons}")
