"""The health endpoint over real HTTP, and the monitor that alerts staff and announces recovery."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import HelpdeskConfig
from handlers.delivery import to_payload
from handlers.health import HealthRegistry, throttled
from handlers.health_monitor import HealthMonitor
from handlers.messages import Channel, Outbound
from helpdesk.health_server import HealthServer
from storage import queues
from storage.models import InboundUpdate, OutboxMessage
from tests.e2e.harness import STAFF_GROUP


class Clock:
    """A settable clock for the registry: failures 'last' as long as the test says."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
async def server(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[HealthServer, Clock]]:
    clock = Clock()
    registry = HealthRegistry(clock=clock)
    health = HealthServer(
        registry, sessions, thresholds={"telegram": 60, "smtp": 300},
        counters=lambda: {"updates_handled_total": 7},
    )  # fmt: skip
    await health.start("127.0.0.1", 0)
    try:
        yield health, clock
    finally:
        await health.stop()


@pytest.mark.db
async def test_metrics_show_components_queues_and_counters(
    server: tuple[HealthServer, Clock], sessions: async_sessionmaker[AsyncSession]
) -> None:
    health, clock = server
    async with sessions.begin() as session:
        for n in range(3):
            message = Outbound(Channel.TELEGRAM, "5", f"m{n}")
            queues.enqueue(session, "telegram", "5", to_payload(message))
        session.add(
            InboundUpdate(channel="telegram", external_id="1", payload={}, status="failed")
        )
    health.registry.on_status("telegram", True, "polling")
    clock.advance(5)
    health.registry.on_status("smtp", False, "SMTPConnectError")

    status, page = await get(health.port, "/metrics")

    assert status == 200
    found = samples(page)
    assert found[("helpdesk_component_up", (("component", "telegram"),))] == 1.0
    assert found[("helpdesk_component_up", (("component", "smtp"),))] == 0.0
    last = found[
        ("helpdesk_component_last_success_timestamp_seconds", (("component", "telegram"),))
    ]
    assert last == datetime(2026, 12, 4, 2, 0, tzinfo=UTC).timestamp()
    assert found[("helpdesk_component_failures_total", (("component", "smtp"),))] == 1.0
    assert found[("helpdesk_queue_length", (("queue", "outbox"), ("state", "pending")))] == 3.0
    assert found[("helpdesk_queue_length", (("queue", "inbound"), ("state", "failed")))] == 1.0
    assert found[("helpdesk_updates_handled_total", ())] == 7.0
    # Components that never reported (no mail configured) have no series at all.
    assert not any(labels == (("component", "imap"),) for _, labels in found)


@pytest.mark.db
async def test_healthz_is_503_once_a_component_fails_past_its_threshold(
    server: tuple[HealthServer, Clock],
) -> None:
    health, clock = server
    health.registry.on_status("telegram", False, "polling: NetworkError")
    clock.advance(30)

    status, body = await get(health.port, "/healthz")
    assert status == 200  # failing, but not yet for long
    assert '"state": "failing"' in body

    clock.advance(31)
    status, body = await get(health.port, "/healthz")
    assert status == 503
    assert '"state": "down"' in body and '"failing_seconds": 61.0' in body

    health.registry.on_status("telegram", True, "polling")
    status, _ = await get(health.port, "/healthz")
    assert status == 200


@pytest.mark.db
async def test_monitor_alerts_once_after_the_threshold_and_once_on_recovery(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    registry = HealthRegistry(clock=clock)
    config = HelpdeskConfig(staff_chat=("telegram", str(STAFF_GROUP)))
    monitor = HealthMonitor(sessions, registry, config, thresholds={"imap": 120})
    registry.on_status("imap", True, "fetched")
    registry.on_status("imap", False, "IMAP timeout")
    clock.advance(60)
    assert await monitor.check() == []

    clock.advance(61)
    registry.on_status("imap", False, "IMAP timeout")
    with caplog.at_level(logging.WARNING):
        [alert] = await monitor.check()
    assert "imap" in alert and "IMAP timeout" in alert and "10:00" in alert  # WITA
    assert any("imap has been failing" in r.getMessage() for r in caplog.records)
    assert await monitor.check() == []  # once, not every check

    clock.advance(30)
    registry.on_status("imap", True, "fetched")
    [recovered] = await monitor.check()
    assert "kembali normal" in recovered and "3 menit" in recovered
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(r.chat_id, r.payload["html"]) for r in rows] == [
        (str(STAFF_GROUP), alert),
        (str(STAFF_GROUP), recovered),
    ]


def test_throttled_passes_changes_and_failures_but_not_every_success() -> None:
    seen: list[tuple[str, bool, str]] = []
    report = throttled(lambda c, ok, d: seen.append((c, ok, d)), interval=60)
    for _ in range(5):
        report("telegram", True, "sent")
    report("telegram", False, "NetworkError")
    report("telegram", False, "NetworkError")
    report("telegram", True, "sent")
    assert seen == [
        ("telegram", True, "sent"),
        ("telegram", False, "NetworkError"),
        ("telegram", False, "NetworkError"),
        ("telegram", True, "sent"),
    ]
