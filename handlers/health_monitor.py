"""Tells staff when a component has been failing too long, and again when it recovers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import HelpdeskConfig
from handlers.delivery import to_payload
from handlers.health import ComponentState, HealthRegistry
from handlers.messages import Channel, Outbound
from handlers.texts_reliability import text
from handlers.turn import STAFF_CHAT_KEY
from handlers.worker import Worker
from storage import kv, queues

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 300.0


@dataclass
class HealthMonitor(Worker):
    """Checks the registry every `interval` seconds; one alert per failure, one on recovery.

    Alerts go through the outbox like any message: one about Telegram itself waits there
    until Telegram answers again (the WARNING in the log is immediate).
    """

    sessions: async_sessionmaker[AsyncSession]
    registry: HealthRegistry
    config: HelpdeskConfig
    thresholds: Mapping[str, float] = field(default_factory=dict)
    interval: float = 10.0
    alerted: dict[str, datetime] = field(default_factory=dict)  # component: failing since

    async def run(self) -> None:
        """Check until stopped; a failed check is logged and tried again next time."""
        while not self._stopping:
            try:
                await self.check()
            except Exception:
                logger.exception("health check failed")
            await self._pause(self.interval)

    async def check(self) -> list[str]:
        """Alert or announce recovery where due; return the notices queued."""
        now = self.registry.clock()
        notices: list[str] = []
        for name, state in list(self.registry.components.items()):
            threshold = self.thresholds.get(name, DEFAULT_THRESHOLD)
            if name not in self.alerted and state.failing_for(now) >= threshold:
                notices.append(self._failing(name, state, now))
            elif name in self.alerted and state.ok:
                notices.append(self._recovered(name, state, now))
        if notices:
            await self._tell_staff(notices)
        return notices

    def _failing(self, name: str, state: ComponentState, now: datetime) -> str:
        since = self.alerted[name] = state.failing_since or now
        local = since.astimezone(self.config.zone)
        failing = state.failing_for(now)
        logger.warning(
            "%s has been failing for %.0f s (since %s): %s",
            name, failing, local.isoformat(timespec="seconds"), state.detail,
        )  # fmt: skip
        return text(
            self.config.language,
            "component_failing",
            component=name,
            since=local.strftime("%d-%m-%Y %H:%M"),
            minutes=round(failing / 60),
            detail=state.detail or "-",
        )

    def _recovered(self, name: str, state: ComponentState, now: datetime) -> str:
        down = ((state.last_success or now) - self.alerted.pop(name)).total_seconds()
        logger.warning("%s is working again after %.0f s", name, down)
        return text(
            self.config.language,
            "component_recovered",
            component=name,
            minutes=max(1, round(down / 60)),
        )

    async def _tell_staff(self, notices: list[str]) -> None:
        staff = self.config.staff_chat
        if staff is None:
            logger.warning("no staff chat configured: health notices only in this log")
            return
        async with self.sessions.begin() as session:
            moved = await kv.get(session, f"{staff[0]}.{STAFF_CHAT_KEY}")
            for notice in notices:
                outbound = Outbound(
                    channel=Channel(staff[0]), chat_id=moved or staff[1], html=notice
                )
                queues.enqueue(session, outbound.channel, outbound.chat_id, to_payload(outbound))
