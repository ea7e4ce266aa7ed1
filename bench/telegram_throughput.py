"""Telegram throughput: a bare PTB echo bot and the helpdesk, through the Bot API test server.

Both bots run in their own subprocess against a FakeBotApi served from this process. All
questions are queued at once (a burst at t0), for both bots alike; a question's time to
reply runs from its queueing to the server's record of the sendMessage that answers it
(the k-th reply in a chat answers the k-th question there).

    .venv/bin/python bench/telegram_throughput.py [--questions 2000] [--users 200]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.botapi.server import FakeBotApi  # noqa: E402

QUESTIONS_TSV = Path("/work/shared/eval/questions-dev.tsv")
# Topics whose reply is not one message in the same chat: a hand-over to staff waits for the
# next message, a status request answers from tickets, out-of-scope questions escalate.
EXCLUDED_TOPICS = frozenset({"hubungi_staf", "status_tiket", "di_luar_topik", "topic"})
BUILT_IN_QUESTIONS = (
    "Bagaimana cara aktivasi akun kuliah online?",
    "akun sunari saya belum aktif, gimana ya?",
    "Saya mahasiswa baru, cara registrasi akun e-learning gimana?",
    "Saya lupa password LMS, bagaimana cara reset?",
    "akun saya terkunci setelah salah kata sandi beberapa kali",
    "Bagaimana cara membuka enrollment mata kuliah daring?",
    "mahasiswa saya tidak bisa enrol ke kelas saya di LMS",
    "Bagaimana cara membuat mata kuliah daring baru?",
    "pak, saya dosen, mau buat kelas online di sunari caranya?",
    "Mata kuliah saya belum muncul di LMS, kenapa?",
    "Ada pelatihan e-learning untuk dosen?",
    "kapan jadwal pelatihan moodle untuk staf?",
    "Dosen dari kampus lain bisa ikut pelatihan e-learning UNR?",
    "Bagaimana cara mendaftar kuliah PDITT/SPADA?",
    "cara daftar SPADA gimana min?",
    "Kampus kami ingin menjadi mitra PDITT, prosedurnya bagaimana?",
    "Bagaimana cara mendapatkan sertifikat nilai kuliah daring?",
    "sertifikat SPADA saya belum keluar",
    "Bagaimana nilai kuliah daring dilaporkan ke PDDIKTI?",
    "Kami ingin kunjungan dan kerjasama dengan UPT E-learning",
    "Bagaimana cara mengadakan kuliah lewat video conference?",
    "link zoom untuk kuliah sinkron dapat dari mana?",
    "Halo selamat pagi",
    "assalamualaikum min",
    "Terima kasih banyak atas bantuannya",
    "makasih min",
)
FIRST_USER = 10_000
WARM_UP_USER = 9_999
STAFF_GROUP = -1001234567890
STAFF_ID = 900
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


@dataclass
class Figures:
    """What one bot did with the questions."""

    bot: str
    questions: int
    replies: int
    missing: int
    duplicates: int
    seconds: float
    updates_per_second: float
    p50_ms: float
    p99_ms: float
    max_getupdates_batch: int
    getupdates_calls: int


@dataclass(frozen=True)
class BotCommand:
    """How to start one bot against a given server."""

    name: str
    argv: list[str]
    database_url: str | None = None
    delivery: str = "process"

    def env(self, api: FakeBotApi) -> dict[str, str]:
        """The subprocess environment: ours without HELPDESK_*, plus the bot's settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env.update({"PTB_TIMEDELTA": "1", "PYTHONPATH": str(ROOT)})
        if self.database_url is None:
            env.update(
                BENCH_TOKEN=api.token,
                BENCH_BASE_URL=api.base_url,
                BENCH_BASE_FILE_URL=api.base_file_url,
            )
            return env
        env.update(
            HELPDESK_DATABASE_URL=self.database_url,
            HELPDESK_TELEGRAM__TOKEN=api.token,
            HELPDESK_TELEGRAM__BASE_URL=api.base_url,
            HELPDESK_TELEGRAM__BASE_FILE_URL=api.base_file_url,
            HELPDESK_TELEGRAM__POLL_TIMEOUT="1",
            # Telegram's 30 messages/s ceiling would dominate, and the echo bot has none.
            HELPDESK_TELEGRAM__RATE_LIMIT="false",
            HELPDESK_STAFF__TELEGRAM_IDS=json.dumps([STAFF_ID]),
            HELPDESK_TELEGRAM__STAFF_CHAT_ID=str(STAFF_GROUP),
            HELPDESK_LOG_LEVEL="WARNING",
            HELPDESK_DELIVERY=self.delivery,
        )
        return env


def load_questions() -> list[str]:
    """Answerable questions from the dev set, or the built-in list when it is absent."""
    if not QUESTIONS_TSV.is_file():
        return list(BUILT_IN_QUESTIONS)
    with QUESTIONS_TSV.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        found = [r["question"] for r in rows if r.get("topic") not in EXCLUDED_TOPICS]
    return found or list(BUILT_IN_QUESTIONS)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of `values` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


class Run:
    """Questions queued on the server and the replies matched to them, per chat."""

    def __init__(self, api: FakeBotApi, users: int) -> None:
        self.api = api
        self.chats = set(range(FIRST_USER, FIRST_USER + users))
        self.queued: dict[int, list[float]] = defaultdict(list)
        self.replies: dict[int, list[float]] = defaultdict(list)
        self.answered = 0
        self.total = 0
        self.max_batch = 0
        self._seen = 0

    async def queue(self, questions: list[str], count: int) -> None:
        """Queue `count` questions at once, cycling users and questions."""
        users = sorted(self.chats)
        for index in range(count):
            chat = users[index % len(users)]
            self.queued[chat].append(time.monotonic())
            await self.api.send_text(chat, questions[index % len(questions)])
        self.total = count

    def collect(self) -> bool:
        """Take the sends recorded since the last look; True once every question has a reply."""
        sent = self.api.sent
        for entry in sent[self._seen :]:
            if entry.chat_id not in self.chats or entry.method != "sendMessage":
                continue
            replies = self.replies[entry.chat_id]
            replies.append(entry.at)
            if len(replies) <= len(self.queued[entry.chat_id]):
                self.answered += 1
        self._seen = len(sent)
        return self.answered >= self.total

    def figures(self, name: str) -> Figures:
        """Totals, rate and latency percentiles of the run."""
        latencies: list[float] = []
        duplicates = 0
        for chat, queued in self.queued.items():
            replies = self.replies.get(chat, [])
            latencies += [r - q for q, r in zip(queued, replies, strict=False)]
            duplicates += max(0, len(replies) - len(queued))
        first = min(q[0] for q in self.queued.values())
        answers = [r[: len(self.queued[c])] for c, r in self.replies.items()]
        seconds = max((a[-1] for a in answers if a), default=first) - first
        polls = [c for c in self.api.calls if c.method == "getUpdates"]
        return Figures(
            bot=name,
            questions=self.total,
            replies=self.answered,
            missing=self.total - self.answered,
            duplicates=duplicates,
            seconds=round(seconds, 3),
            updates_per_second=round(self.answered / seconds, 1) if seconds > 0 else 0.0,
            p50_ms=round(percentile(latencies, 0.50) * 1000, 1),
            p99_ms=round(percentile(latencies, 0.99) * 1000, 1),
            max_getupdates_batch=self.max_batch,
            getupdates_calls=len(polls),
        )


def count_batches(api: FakeBotApi, run: Run) -> None:
    """Record the largest getUpdates answer by wrapping the queue's `take`."""
    take = api.updates.take

    def counting(limit: int) -> list[dict[str, Any]]:
        found = take(limit)
        run.max_batch = max(run.max_batch, len(found))
        return found

    api.updates.take = counting  # type: ignore[method-assign]


@asynccontextmanager
async def bot_process(
    command: BotCommand, api: FakeBotApi, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run the bot until the block ends; stop it with SIGTERM, kill it if it lingers."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command.argv, env=command.env(api), stdout=output, stderr=output, cwd=ROOT
        )
    try:
        yield process
    finally:
        await stop_process(process)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()


async def wait_ready(api: FakeBotApi, process: asyncio.subprocess.Process, log: Path) -> None:
    """Until the bot polls; a bot that exits first is an error showing its log."""
    deadline = time.monotonic() + START_TIMEOUT
    while not any(call.method == "getUpdates" for call in api.calls):
        if process.returncode is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"bot did not start (exit {process.returncode}):\n{tail}")
        await asyncio.sleep(0.05)


async def warm_up(api: FakeBotApi, question: str) -> None:
    """One question answered before t0: lazy imports, connections and caches are ready."""
    api.user(WARM_UP_USER, "Pemanasan")
    await api.send_text(WARM_UP_USER, question)
    await api.wait_for_messages(WARM_UP_USER, 1, timeout=START_TIMEOUT)


async def measure(command: BotCommand, args: argparse.Namespace, workdir: Path) -> Figures:
    """One bot, one fresh server: start, warm up, queue the burst, wait, stop."""
    questions = load_questions()
    log = workdir / f"{command.name}.log"
    async with FakeBotApi() as api:
        api.group(STAFF_GROUP, "Staf Helpdesk")
        api.user(STAFF_ID, "Staf")
        for user_id in range(FIRST_USER, FIRST_USER + args.users):
            api.user(user_id, f"Mahasiswa{user_id}")
        async with bot_process(command, api, log) as process:
            await wait_ready(api, process, log)
            await warm_up(api, questions[0])
            profiler = await start_profiler(process, args.profile, command.name)
            run = Run(api, args.users)
            count_batches(api, run)
            await run.queue(questions, args.questions)
            try:
                await api.wait_for(run.collect, timeout=args.timeout)
            except TimeoutError:
                print(f"{command.name}: timed out after {args.timeout} s", file=sys.stderr)
            await asyncio.sleep(0.5)  # late duplicates still count
            run.collect()
        if profiler is not None:
            await finish_profiler(profiler)
    return run.figures(command.name)


async def finish_profiler(profiler: asyncio.subprocess.Process) -> None:
    """py-spy ends with its target and writes its file; SIGINT also makes it write."""
    try:
        await asyncio.wait_for(profiler.wait(), STOP_TIMEOUT)
    except TimeoutError:
        profiler.send_signal(signal.SIGINT)
        await stop_process(profiler)


async def start_profiler(
    process: asyncio.subprocess.Process, folder: Path | None, name: str
) -> asyncio.subprocess.Process | None:
    """py-spy on the bot and its children until it exits (collapsed stacks, idle and threads
    shown)."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    output = folder / f"{name}.txt"
    return await asyncio.create_subprocess_exec(
        *[str(py_spy), "record", "--pid", str(process.pid), "--format", "raw", "-o", str(output)],
        *["--idle", "--threads", "--subprocesses", "--nonblocking", "--rate", "200"],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


@asynccontextmanager
async def bench_database(url: str | None, workdir: Path) -> AsyncIterator[str]:
    """SQLite in the work folder, or a fresh PostgreSQL database dropped afterwards."""
    if url is None or url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
        return

    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"sunari_bench_{secrets.token_hex(4)}"
    given = make_url(url)
    admin = given.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield given.set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


def report(figures: list[Figures], database: str) -> None:
    """The figures as a table, then the ratio."""
    print("Burst: all questions queued at t0; Telegram rate limiting OFF in the helpdesk")
    print(f"(the echo bot has none). Helpdesk database: {database}")
    header = f"{'bot':<10}{'seconds':>9}{'upd/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    print(header + f"{'replies':>9}{'dup':>5}{'missing':>9}{'max batch':>11}{'polls':>7}")
    for f in figures:
        print(
            f"{f.bot:<10}{f.seconds:>9.2f}{f.updates_per_second:>9.1f}{f.p50_ms:>9.0f}"
            f"{f.p99_ms:>9.0f}{f.replies:>9}{f.duplicates:>5}{f.missing:>9}"
            f"{f.max_getupdates_batch:>11}{f.getupdates_calls:>7}"
        )
    print(f"ratio b/a (updates/s): {ratio(figures):.2f}  (target >= 0.6)")


def ratio(figures: list[Figures]) -> float:
    """Helpdesk updates/s over echo-bot updates/s."""
    echo, helpdesk = figures
    return helpdesk.updates_per_second / echo.updates_per_second if echo.updates_per_second else 0


async def main(args: argparse.Namespace) -> None:
    """Measure (a) then (b), `--rounds` times on fresh databases, and print the comparison.

    The echo bot's figure swings with the machine's load from one minute to the next, so
    the two bots alternate and the median ratio of the rounds is the result.
    """
    rounds = [await one_round(args) for _ in range(args.rounds)]
    database = (args.database_url or "sqlite").split(":", 1)[0].split("+", 1)[0]
    median_ratio = statistics.median(ratio(figures) for figures in rounds)
    if args.json:
        result = {
            "queueing": "burst",
            "rate_limit": False,
            "database": database,
            "delivery": args.delivery,
            "rounds": [[asdict(f) for f in figures] for figures in rounds],
            "median_ratio": round(median_ratio, 3),
        }
        print(json.dumps(result))
        return
    for number, figures in enumerate(rounds, 1):
        print(f"-- round {number}")
        report(figures, database)
    print(f"median ratio b/a over {len(rounds)} rounds: {median_ratio:.2f}  (target >= 0.6)")


async def one_round(args: argparse.Namespace) -> list[Figures]:
    """One measurement of each bot, the helpdesk on a database of its own."""
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="sunari-bench-") as folder:
        workdir = Path(folder)
        async with bench_database(args.database_url, workdir) as database_url:
            commands = [
                BotCommand("a-echo", [sys.executable, str(ROOT / "bench" / "echo_bot.py")]),
                BotCommand(
                    "b-helpdesk", [str(bin_dir / "helpdesk"), "run"], database_url, args.delivery
                ),
            ]
            return [await measure(command, args, workdir) for command in commands]


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--database-url",
        help="helpdesk database server, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test "
        "(a fresh database is created there and dropped); default: SQLite in a temp folder",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per bot")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument(
        "--delivery",
        choices=("inline", "process"),
        default="process",
        help="the helpdesk's `delivery` setting: send in its own process or a second one",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--profile",
        type=Path,
        help="folder for py-spy profiles of each bot (collapsed stacks; needs py-spy in the venv)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
