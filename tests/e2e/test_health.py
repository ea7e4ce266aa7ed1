"""`helpdesk run`'s health page and staff alerts, with Telegram polling failing for real."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from helpdesk.settings import HealthSettings
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import STAFF_GROUP, RunningHelpdesk, eventually, settings_for
from tests.helpdesk.test_health import get, samples


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.e2e
@pytest.mark.db
async def test_running_helpdesk_reports_polling_trouble_to_staff_and_on_the_page(
    api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    settings = settings_for(api, database_url, state_dir=tmp_path).model_copy(
        update={
            "health": HealthSettings(port=port, alert_after={"telegram": 1.0}, check_interval=0.2)
        }
    )
    running = RunningHelpdesk(settings)
    await running.start()
    try:

        async def page() -> dict[str, Any]:
            status, body = await get(port, "/healthz")
            data: dict[str, Any] = json.loads(body)
            data["http"] = status
            return data

        async def telegram_ok() -> bool:
            try:
                data = await page()
            except aiohttp.ClientConnectionError:
                return False  # not listening yet
            return bool(data["components"].get("telegram", {}).get("state") == "ok")

        await eventually(telegram_ok, 10)
        api.fail_next("getUpdates", 502, "Bad Gateway", times=2)
        await api.wait_for(lambda: len(api.messages_to(STAFF_GROUP)) >= 1, 15)
        assert "telegram" in api.messages_to(STAFF_GROUP)[0].text
        await api.wait_for(lambda: len(api.messages_to(STAFF_GROUP)) >= 2, 20)
        assert "kembali normal" in api.messages_to(STAFF_GROUP)[1].text
        data = await page()
        assert data["http"] == 200 and data["components"]["telegram"]["state"] == "ok"
        status, metrics = await get(port, "/metrics")
        assert status == 200
        assert (
            samples(metrics)[("helpdesk_component_failures_total", (("component", "telegram"),))]
            >= 2
        )
    finally:
        await running.stop()
