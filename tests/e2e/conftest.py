"""Fixtures for end-to-end tests: the Bot API test server and the running helpdesk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpdesk.settings import Settings
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import STAFF_GROUP, STAFF_ID, STUDENT_ID, RunningHelpdesk, settings_for


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(username="unr_helpdesk_bot") as server:
        server.user(STUDENT_ID, "Dewi", language_code="id")
        server.user(STAFF_ID, "Staf Ayu", language_code="id")
        server.group(STAFF_GROUP, "Staf Helpdesk E-learning")
        yield server


@pytest.fixture
def settings(api: FakeBotApi, database_url: str, tmp_path: Path) -> Settings:
    return settings_for(api, database_url, state_dir=tmp_path)


@pytest.fixture
async def helpdesk(settings: Settings) -> AsyncIterator[RunningHelpdesk]:
    running = RunningHelpdesk(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
