"""The real `helpdesk run` in a subprocess: answers, stops on SIGTERM, survives SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.database import create_engine, session_factory
from storage.models import InboundUpdate, OutboxMessage
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import STAFF_GROUP, STAFF_ID, STUDENT_ID
from tests.e2e.processes import HelpdeskProcess
from tests.e2e.test_health import free_port
from tests.helpdesk.test_health import get

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]

# Shaped like a real token, so that a leak of either part is easy to find in the log.
TOKEN = "7012345678:AAFq3xZ-SecretPartOfTheBotToken_k9w"
SECRET_PART = TOKEN.split(":", 1)[1]
QUESTIONS = (
    "Saya lupa password akun e-learning",
    "min, akun sunari saya belum aktif, gimana cara aktivasinya?",
    "Bagaimana cara mendaftar kuliah PDITT?",
    "cara bikin mata kuliah baru di e-learning",
)
USERS = (201, 202, 203, 204, 205)
# Seeds of the kill test; HELPDESK_TEST_KILL_SEEDS="1,2,3,..." runs others locally.
# Before the sent journal (handlers/journal.py) seeds 1-10 duplicated 0-5 replies in 7-8 of
# 10 runs: replies Telegram had accepted but the outbox had not yet marked sent went out
# again. With it, seeds 1-10 lost 0 and duplicated 0 on 2026-12-03; a later run of seed 1
# under load duplicated 2 replies that were in flight at the kill.
KILL_SEEDS = [int(s) for s in os.environ.get("HELPDESK_TEST_KILL_SEEDS", "1,2,3").split(",") if s]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, username="unr_helpdesk_bot") as server:
        server.user(STUDENT_ID, "Dewi")
        server.user(STAFF_ID, "Staf Ayu")
        server.group(STAFF_GROUP, "Staf Helpdesk E-learning")
        for number, user in enumerate(USERS, 1):
            server.user(user, f"Mahasiswa {number}")
        yield server


@pytest.fixture
def env(api: FakeBotApi, database_url: str, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    return {
        **base,
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_TELEGRAM__TOKEN": api.token,
        "HELPDESK_TELEGRAM__BASE_URL": api.base_url,
        "HELPDESK_TELEGRAM__BASE_FILE_URL": api.base_file_url,
        "HELPDESK_TELEGRAM__POLL_TIMEOUT": "1",
        "HELPDESK_TELEGRAM__STAFF_CHAT_ID": str(STAFF_GROUP),
        "HELPDESK_STAFF__TELEGRAM_IDS": f"[{STAFF_ID}]",
        "HELPDESK_LOG_LEVEL": "DEBUG",
        "HELPDESK_STATE_DIR": str(tmp_path),
    }


@pytest.fixture
async def launch(
    env: dict[str, str], tmp_path: Path
) -> AsyncIterator[Callable[[str], HelpdeskProcess]]:
    started: list[HelpdeskProcess] = []

    def make(name: str) -> HelpdeskProcess:
        started.append(HelpdeskProcess(env, tmp_path / f"{name}.log"))
        return started[-1]

    try:
        yield make
    finally:
        for process in started:
            await process.close()


def _leaks(text: str) -> list[str]:
    return [line for line in text.splitlines() if TOKEN in line or SECRET_PART in line]


async def test_run_answers_stops_on_sigterm_and_never_logs_the_token(
    api: FakeBotApi, launch: Callable[[str], HelpdeskProcess], env: dict[str, str]
) -> None:
    port = free_port()
    env["HELPDESK_HEALTH__PORT"] = str(port)
    helpdesk = launch("run")
    await helpdesk.start()

    await api.send_text(STUDENT_ID, QUESTIONS[0])
    [answer] = await api.wait_for_messages(STUDENT_ID, 1, timeout=20)
    assert "sandi" in answer.text.lower() or "password" in answer.text.lower()
    status, page = await get(port, "/healthz")
    assert status == 200, page
    health = json.loads(page)
    assert health["components"]["telegram"]["state"] == "ok"
    assert health["queues"]["inbound"] == {"pending": 0, "failed": 0}

    # It stops in about 0.3 s. A stop that came while the deliverer read the outbox once
    # waited out its 5 s timer (a lost wake-up, tests/handlers/test_worker.py); the stop's
    # stages are logged, and shown if this fails, to name a slow one.
    assert await helpdesk.terminate(timeout=5) == 0
    log = helpdesk.text()
    assert "helpdesk stopped" in log
    print([line.split("stopping: ")[1] for line in log.splitlines() if "stopping: " in line])
    assert " DEBUG " in log  # the check below ran against the most talkative level
    assert "unreadable status line" not in log  # the deliverer's reports reached the parent
    # The HTTP clients print each request URL (token included) at INFO; they stay quiet, and
    # python-telegram-bot's dumps of whole updates (users' messages) stay out too.
    assert "HTTP Request:" not in log and "/getUpdates" not in log.replace("getupdates", "")
    assert QUESTIONS[0] not in log
    leaks = _leaks(log)
    assert not leaks, "the bot token is in the log:\n" + "\n".join(leaks)


async def _count(
    database_url: str, table: type[InboundUpdate | OutboxMessage], status: str
) -> int:
    """Rows of `table` in `status`, read as an outside observer."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(func.count()).select_from(table).where(table.status == status)
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


async def _pending(database_url: str) -> int:
    inbound = await _count(database_url, InboundUpdate, "pending")
    return inbound + await _count(database_url, OutboxMessage, "pending")


async def _settled(api: FakeBotApi, database_url: str, expected: int) -> None:
    """Wait until every chat has its replies and nothing is left to process or send."""
    await api.wait_for(lambda: all(len(api.messages_to(u)) >= expected for u in USERS), 30)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while await _pending(database_url):
        assert loop.time() < deadline, "inbound or outbox rows still pending after 15 s"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a late duplicate would have shown by now


# process: the default; the killed parent's deliverer finishes its batch and exits.
# inline: sending in the killed process itself, so a send can die half-way.
@pytest.mark.parametrize("delivery", ["process", "inline"])
@pytest.mark.parametrize("seed", KILL_SEEDS)
async def test_sigkill_mid_work_then_restart_answers_each_question_once(
    api: FakeBotApi,
    launch: Callable[[str], HelpdeskProcess],
    database_url: str,
    seed: int,
    delivery: str,
    env: dict[str, str],
) -> None:
    # The kill falls after a random number of replies plus up to one round of sends
    # (about 0.25 s here): anywhere from "just queued" to "all done", whatever the speed.
    rng = random.Random(seed)
    total = len(USERS) * len(QUESTIONS)
    replies_before_kill = rng.randrange(total)
    delay = rng.uniform(0, 0.25)
    print(f"seed={seed}: SIGKILL after {replies_before_kill} replies + {delay * 1000:.0f} ms")
    env["HELPDESK_DELIVERY"] = delivery
    first = launch("first")
    await first.start()

    for question in QUESTIONS:
        for user in USERS:
            await api.send_text(user, question)
    await api.wait_for(lambda: len(api.sent) >= replies_before_kill, 30)
    await asyncio.sleep(delay)
    await first.kill()
    accepted, marked = len(api.sent), await _count(database_url, OutboxMessage, "sent")

    second = launch("second")
    await second.start()
    await _settled(api, database_url, len(QUESTIONS))
    assert await second.terminate() == 0

    counts = {user: len(api.messages_to(user)) for user in USERS}
    lost = sum(max(0, len(QUESTIONS) - n) for n in counts.values())
    duplicated = sum(max(0, n - len(QUESTIONS)) for n in counts.values())
    print(f"seed={seed}: accepted {accepted}, marked sent {marked} at the kill; "
          f"lost {lost}, duplicated {duplicated}")  # fmt: skip
    # Nothing may be lost. A send in flight at the kill (Telegram has it, its answer has not
    # come back) is sent again: at most one per chat, since a chat's messages go one by one.
    # Issue 6 asks for none at all; see the README's known limitations.
    assert lost == 0 and duplicated <= len(USERS), (
        f"seed {seed}: {lost} lost, {duplicated} duplicated of {total} questions; "
        f"replies per user {counts}; at the SIGKILL ({replies_before_kill} replies + "
        f"{delay * 1000:.0f} ms) Telegram had accepted {accepted} replies and the outbox "
        f"had marked {marked} of them sent"
    )
