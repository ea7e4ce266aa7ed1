"""Webhook mode end to end: setWebhook, the secret header, bad bodies and repeated updates."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from helpdesk.settings import Settings
from storage.models import InboundUpdate
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import STUDENT_ID, RunningHelpdesk, settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.db]

WEBHOOK_URL = "https://helpdesk.example/telegram"
SECRET = "s3cret-Webhook_token"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
QUESTION = "Saya lupa password akun e-learning"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def settings(api: FakeBotApi, database_url: str, port: int, tmp_path: Path) -> Settings:
    return settings_for(
        api,
        database_url,
        state_dir=tmp_path,
        mode="webhook",
        webhook_url=WEBHOOK_URL,
        listen="127.0.0.1",
        port=port,
        secret_token=SECRET,
    )


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _update(api: FakeBotApi, update_id: int, text: str) -> dict[str, Any]:
    """A private text message from the student, as Telegram would POST it."""
    message = {
        "message_id": api.next_message_id(STUDENT_ID),
        "date": api.now(),
        "chat": api.chats[STUDENT_ID],
        "from": api.users[STUDENT_ID],
        "text": text,
    }
    api.store_message(message)
    return {"update_id": update_id, "message": message}


async def _post(
    client: aiohttp.ClientSession, port: int, body: Any, secret: str | None = SECRET
) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with client.post(
        f"http://127.0.0.1:{port}/telegram", data=data, headers=headers
    ) as response:
        await response.read()
        return response.status


async def _stored(helpdesk: RunningHelpdesk) -> int:
    async def count(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(InboundUpdate)))

    result: int = await helpdesk.query(count)
    return result


async def test_start_up_registers_the_webhook_with_its_secret(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await api.wait_for(lambda: bool(api.webhook))

    assert api.webhook["url"] == WEBHOOK_URL
    assert api.webhook["secret_token"] == SECRET
    assert set(api.webhook["allowed_updates"]) >= {"message", "callback_query"}
    assert not any(c.method == "getUpdates" for c in api.calls)


async def test_requests_without_the_right_secret_are_refused_and_not_stored(
    api: FakeBotApi, helpdesk: RunningHelpdesk, port: int, client: aiohttp.ClientSession
) -> None:
    await api.wait_for(lambda: bool(api.webhook))

    assert await _post(client, port, _update(api, 501, QUESTION), secret=None) == 403
    assert await _post(client, port, _update(api, 502, QUESTION), secret="wrong") == 403
    assert await _post(client, port, _update(api, 503, QUESTION), secret=SECRET[:-1]) == 403

    assert await _stored(helpdesk) == 0
    assert api.sent == []


async def test_a_body_that_is_not_an_update_gets_400(
    api: FakeBotApi, helpdesk: RunningHelpdesk, port: int, client: aiohttp.ClientSession
) -> None:
    await api.wait_for(lambda: bool(api.webhook))

    assert await _post(client, port, b"{not json") == 400
    assert await _post(client, port, b"\xff\xfe") == 400
    assert await _post(client, port, {"message": {"text": "no update_id"}}) == 400

    assert await _stored(helpdesk) == 0


async def test_an_update_with_the_secret_is_answered_once_even_if_posted_twice(
    api: FakeBotApi, helpdesk: RunningHelpdesk, port: int, client: aiohttp.ClientSession
) -> None:
    await api.wait_for(lambda: bool(api.webhook))
    update = _update(api, 700, QUESTION)

    assert await _post(client, port, update) == 200
    [answer] = await api.wait_for_messages(STUDENT_ID, 1)
    assert "sandi" in answer.text.lower() or "password" in answer.text.lower()

    assert await _post(client, port, update) == 200
    # A second question as a marker: once it is answered, the repeat was handled too.
    assert await _post(client, port, _update(api, 701, "Bagaimana cara mendaftar PDITT?")) == 200
    messages = await api.wait_for_messages(STUDENT_ID, 2)
    assert "PDITT" in messages[1].text
    assert len(api.messages_to(STUDENT_ID)) == 2
    assert await _stored(helpdesk) == 2
