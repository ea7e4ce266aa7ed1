"""The health endpoint: /healthz (JSON) and /metrics (Prometheus text) on a local port."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.health import COMPONENTS, HealthRegistry
from storage.database import reading
from storage.health import queue_lengths

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Snapshot:
    """Everything one request shows, read at once."""

    registry: HealthRegistry
    thresholds: Mapping[str, float]
    queues: dict[str, dict[str, int]]
    counters: dict[str, int]
    now: datetime

    def component(self, name: str) -> dict[str, Any]:
        state = self.registry.state(name)
        failing = state.failing_for(self.now)
        return {
            "state": _state_name(state.ok, failing, self.thresholds.get(name, 300.0)),
            "detail": state.detail,
            "last_success": _iso(state.last_success),
            "last_failure": _iso(state.last_failure),
            "failing_seconds": round(failing, 1),
        }

    def healthy(self) -> bool:
        """False once any component has failed for longer than its alert threshold."""
        return all(self.component(name)["state"] != "down" for name in self.registry.components)


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        up = GaugeMetricFamily(
            "helpdesk_component_up", "1 when the component's last report was a success",
            labels=["component"],
        )  # fmt: skip
        last = GaugeMetricFamily(
            "helpdesk_component_last_success_timestamp_seconds",
            "Unix time of the component's last success", labels=["component"],
        )  # fmt: skip
        failing = GaugeMetricFamily(
            "helpdesk_component_failing_seconds",
            "How long the component has been failing (0 when fine)", labels=["component"],
        )  # fmt: skip
        failures = CounterMetricFamily(
            "helpdesk_component_failures", "Failures reported by the component",
            labels=["component"],
        )  # fmt: skip
        for name in sorted(set(COMPONENTS) | set(snap.registry.components)):
            state = snap.registry.state(name)
            if state.ok is None:
                continue  # not running here (no mail configured, say): no series at all
            up.add_metric([name], 1.0 if state.ok else 0.0)
            if state.last_success is not None:
                last.add_metric([name], state.last_success.timestamp())
            failing.add_metric([name], state.failing_for(snap.now))
            failures.add_metric([name], float(state.failures))
        yield from (up, last, failing, failures)

        queued = GaugeMetricFamily(
            "helpdesk_queue_length", "Rows waiting or set aside", labels=["queue", "state"]
        )
        for queue, counts in snap.queues.items():
            for state_name, n in counts.items():
                queued.add_metric([queue, state_name], float(n))
        yield queued
        for key, value in snap.counters.items():
            counter = CounterMetricFamily(f"helpdesk_{key}", key.replace("_", " "))
            counter.add_metric([], float(value))
            yield counter


class HealthServer:
    """Serves /healthz and /metrics from the registry, the queues and the counters."""

    def __init__(
        self,
        registry: HealthRegistry,
        sessions: async_sessionmaker[AsyncSession],
        *,
        thresholds: Mapping[str, float],
        counters: Callable[[], dict[str, int]] = dict,
    ) -> None:
        self.registry = registry
        self.sessions = sessions
        self.thresholds = thresholds
        self.counters = counters
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0 picks a free one, kept in `self.port`)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        logger.info("health endpoint on http://%s:%s/healthz and /metrics", host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def snapshot(self) -> Snapshot:
        """Read the queues and pair them with the registry's state."""
        try:
            async with reading(self.sessions) as session:
                queues = await queue_lengths(session)
        except Exception as exc:  # the page must still answer when the database does not
            logger.warning("health page: cannot read the queues (%s)", type(exc).__name__)
            queues = {}
        return Snapshot(
            self.registry, self.thresholds, queues, self.counters(), self.registry.clock()
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        snap = await self.snapshot()
        body = {
            "status": "ok" if snap.healthy() and snap.queues else "failing",
            "components": {
                name: snap.component(name) for name in sorted(snap.registry.components)
            },
            "queues": snap.queues,
            "counters": snap.counters,
            "database": "ok" if snap.queues else "unreachable",
        }
        status = 200 if body["status"] == "ok" else 503
        return web.Response(
            status=status, text=json.dumps(body, indent=1), content_type="application/json"
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_SnapshotCollector(await self.snapshot()))
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})


def _state_name(ok: bool | None, failing: float, threshold: float) -> str:
    if ok is None:
        return "unknown"
    if ok:
        return "ok"
    return "down" if failing >= threshold else "failing"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")
