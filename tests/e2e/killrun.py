"""One kill round at scale: questions from many users, SIGKILL at a moment, restart, count.

Shared by `tests/e2e/test_kill_scale.py` (CI) and `bench/kill_scale.py` (more rounds).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select

from storage.database import create_engine, session_factory
from storage.models import InboundUpdate, OutboxMessage
from tests.botapi.server import FakeBotApi
from tests.e2e.processes import HelpdeskProcess

# Four topics the knowledge base answers in one message each; a user asks them in turn, so
# two equal replies in a row in one chat can only be a duplicate.
QUESTIONS = (
    "Saya lupa password akun e-learning",
    "min, akun sunari saya belum aktif, gimana cara aktivasinya?",
    "Bagaimana cara mendaftar kuliah PDITT?",
    "cara bikin mata kuliah baru di e-learning",
)
FIRST_USER = 10_000
STAFF_GROUP = -1001234567890
STAFF_ID = 900
IN_DOUBT = re.compile(r"outbox message \d+ to \S+ \S+ was in flight")


@dataclass
class KillResult:
    """What one round saw."""

    seed: int
    users: int
    questions: int
    kill_after: int  # replies Telegram had accepted when the kill was decided
    kill_group: bool
    delivery: str
    accepted_at_kill: int
    lost: int
    duplicated: int
    in_doubt: int  # messages the restarted helpdesk said may go out twice
    seconds: float

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in asdict(self).items())


def users(count: int) -> list[int]:
    return [FIRST_USER + n for n in range(count)]


def make_api(token: str, count: int) -> FakeBotApi:
    api = FakeBotApi(token, username="unr_helpdesk_bot")
    api.user(STAFF_ID, "Staf Ayu")
    api.group(STAFF_GROUP, "Staf Helpdesk E-learning")
    for user in users(count):
        api.user(user, f"Mahasiswa {user}")
    return api


def helpdesk_env(api: FakeBotApi, database_url: str, state_dir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    return {
        **base,
        "PTB_TIMEDELTA": "1",
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_TELEGRAM__TOKEN": api.token,
        "HELPDESK_TELEGRAM__BASE_URL": api.base_url,
        "HELPDESK_TELEGRAM__BASE_FILE_URL": api.base_file_url,
        "HELPDESK_TELEGRAM__POLL_TIMEOUT": "1",
        # The test server does not throttle; Telegram's limits are tested on their own
        # (tests/e2e/test_telegram.py). With them, 2,000 replies take 70 s a round.
        "HELPDESK_TELEGRAM__RATE_LIMIT": "false",
        "HELPDESK_TELEGRAM__STAFF_CHAT_ID": str(STAFF_GROUP),
        "HELPDESK_STAFF__TELEGRAM_IDS": f"[{STAFF_ID}]",
        "HELPDESK_STATE_DIR": str(state_dir),
    }


async def _pending(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            total = 0
            for table in (InboundUpdate, OutboxMessage):
                query = select(func.count()).select_from(table).where(table.status == "pending")
                total += int(await session.scalar(query) or 0)
            return total
    finally:
        await engine.dispose()


def count(api: FakeBotApi, chats: list[int], per_user: int) -> tuple[int, int]:
    """(lost, duplicated) from what each chat received."""
    texts: dict[int, list[str]] = {chat: [] for chat in chats}
    for message in api.sent:
        if message.chat_id in texts:
            texts[message.chat_id].append(message.text)
    lost = duplicated = 0
    for received in texts.values():
        repeats = sum(1 for a, b in itertools.pairwise(received) if a == b)
        duplicated += repeats
        lost += max(0, per_user - (len(received) - repeats))
    return lost, duplicated


async def kill_round(
    api: FakeBotApi,
    database_url: str,
    workdir: Path,
    *,
    seed: int,
    user_count: int,
    per_user: int,
    window: tuple[float, float],
    kill_group: bool = False,
    delivery: str = "process",
    settle_timeout: float = 240.0,
    launch: Callable[[dict[str, str], Path, bool], HelpdeskProcess] | None = None,
) -> KillResult:
    """Queue every question, SIGKILL once `window` (a fraction range) of the replies went
    out plus a random few ms, restart, wait until all is settled; count lost and doubled."""
    started = time.monotonic()
    rng = random.Random(seed)
    chats = users(user_count)
    total = user_count * per_user
    kill_after = int(total * rng.uniform(*window))
    delay = rng.uniform(0, 0.05)
    env = {**helpdesk_env(api, database_url, workdir), "HELPDESK_DELIVERY": delivery}
    make = launch or (lambda e, log, group: HelpdeskProcess(e, log, own_group=group))
    first = make(env, workdir / f"kill-{seed}-first.log", kill_group)
    second = make(env, workdir / f"kill-{seed}-second.log", False)
    try:
        await first.start()
        for k in range(per_user):
            for user in chats:
                await api.send_text(user, QUESTIONS[k % len(QUESTIONS)])
        to_users = set(chats)
        await api.wait_for(
            lambda: sum(m.chat_id in to_users for m in api.sent) >= kill_after, settle_timeout
        )
        await asyncio.sleep(delay)
        await (first.kill_group() if kill_group else first.kill())
        accepted = sum(m.chat_id in to_users for m in api.sent)

        await second.start()
        with contextlib.suppress(TimeoutError):  # a loss shows in the counts below
            await api.wait_for(
                lambda: len(api.sent) >= total and _all_answered(api, chats, per_user),
                settle_timeout,
            )
        deadline = time.monotonic() + 30
        while await _pending(database_url) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a late duplicate would show by now
        code = await second.terminate(timeout=20)
        assert code == 0, f"the restarted helpdesk exited {code}"
    finally:
        await first.close()
        await second.close()
    lost, duplicated = count(api, chats, per_user)
    log = first.text() + second.text()
    return KillResult(
        seed=seed,
        users=user_count,
        questions=total,
        kill_after=kill_after,
        kill_group=kill_group,
        delivery=delivery,
        accepted_at_kill=accepted,
        lost=lost,
        duplicated=duplicated,
        in_doubt=len(IN_DOUBT.findall(log)),
        seconds=round(time.monotonic() - started, 1),
    )


def _all_answered(api: FakeBotApi, chats: list[int], per_user: int) -> bool:
    received = Counter(m.chat_id for m in api.sent)
    return all(received[chat] >= per_user for chat in chats)
