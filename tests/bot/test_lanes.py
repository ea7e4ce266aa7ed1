"""Requests spread over one-connection lanes: never more in flight than lanes, none lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from telegram.error import TimedOut

from bot.lanes import LaneRequest


@dataclass
class SlowApi:
    """Answers every request after `delay` seconds and counts what it saw."""

    delay: float
    url: str = ""
    in_flight: int = 0
    most_in_flight: int = 0
    connections: set[object] = field(default_factory=set)
    received: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(request.match_info["method"])
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.connections.add(peer)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return web.json_response({"ok": True, "result": {"n": len(self.received)}})


async def serve(api: SlowApi) -> AsyncIterator[SlowApi]:
    app = web.Application()
    app.router.add_post("/bot{method}", api.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    api.url = f"http://127.0.0.1:{port}/bot"
    try:
        yield api
    finally:
        await runner.cleanup()


@pytest.fixture
async def slow() -> AsyncIterator[SlowApi]:
    async for api in serve(SlowApi(delay=0.05)):
        yield api


@pytest.fixture
async def stuck() -> AsyncIterator[SlowApi]:
    async for api in serve(SlowApi(delay=1.0)):
        yield api


async def test_requests_share_the_lanes_and_all_arrive(slow: SlowApi) -> None:
    lanes = LaneRequest(3, pool_timeout=None)
    await lanes.initialize()
    try:
        results = await asyncio.gather(
            *(lanes.post(f"{slow.url}sendMessage{n}") for n in range(12))
        )
    finally:
        await lanes.shutdown()

    assert sorted(slow.received) == sorted(f"sendMessage{n}" for n in range(12))
    assert len(results) == 12
    assert slow.most_in_flight == 3  # all lanes used, never more
    assert len(slow.connections) == 3  # one kept-alive connection per lane


async def test_no_free_lane_within_the_pool_timeout_is_a_timeout_and_sends_nothing(
    stuck: SlowApi,
) -> None:
    lanes = LaneRequest(1, pool_timeout=0.1)
    await lanes.initialize()
    try:
        first = asyncio.create_task(lanes.post(f"{stuck.url}sendMessage"))
        await asyncio.sleep(0.2)  # the only lane is taken
        with pytest.raises(TimedOut, match="Pool timeout"):
            await lanes.post(f"{stuck.url}answerCallbackQuery")
        await first
    finally:
        await lanes.shutdown()

    assert stuck.received == ["sendMessage"]


def test_at_least_one_lane() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LaneRequest(0)
