"""Weekly digest and full-year report on a year of the E-learning report (1,000,000 rows).

Seeds a fresh SQLite database (migrated to head) with interactions spread over one year,
tickets and people, then, each in a child process so its peak memory is its own:
  digest  builds one weekly digest (figures, chart, the week's XLSX, HTML), timed;
  report  writes the full-year XLSX report, timed, rows/s and peak RSS.

    .venv/bin/python bench/digest.py [--rows 1000000] [--keep DIR [--reuse]] [--json]

Targets (issue 5): digest under 5 s; report at least 50,000 rows/s in under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from storage.database import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Person, Ticket  # noqa: E402

ZONE = ZoneInfo("Asia/Makassar")
YEAR_START = datetime(2026, 1, 1, tzinfo=ZONE)
DIGEST_AT = datetime(2026, 6, 15, 7, 0, tzinfo=ZONE)  # a Monday in the middle of the year
CHANNELS = ("telegram", "telegram", "telegram", "email")
TOPICS = ("login", "lupa_password", "enrollment", "buat_mk", "pelatihan", "pditt", None)
ROLES = ("mahasiswa", "mahasiswa", "dosen", "staf", "mitra", None)
OUTCOMES = ("answered", "unsure", "escalated", "queued")
TEXTS = [
    "Bagaimana cara aktivasi akun SUNARI saya?",
    "Saya lupa password, mohon bantuan",
    "Mohon dibukakan enrollment mata kuliah Statistika kelas A",
    "Kapan pelatihan Moodle berikutnya?",
    "Sertifikat PDITT saya belum diterima",
    "Terima kasih, sudah bisa login",
    "=SUM(A1) bukan rumus",
]
PEOPLE = 5000
TICKETS = 20000
BATCH = 50_000


INSERT = (
    "INSERT INTO interactions (at, channel, direction, person_id, role, topic, text, "
    "ticket_id, handled_by, outcome, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _moments(count: int) -> list[float]:
    # Sorted: the real table is appended as time passes, so its rows lie in time order.
    rng = random.Random(7)
    span = 365 * 24 * 3600
    start = YEAR_START.timestamp()
    return sorted(start + rng.random() * span for _ in range(count))


def _rows(moments: list[float], seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    return [
        (
            # SQLAlchemy's SQLite form of a naive UTC datetime (see storage.types).
            datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            rng.choice(CHANNELS),
            rng.choice(("in", "out", "in", "out", "event")),
            rng.randrange(1, PEOPLE + 1),
            rng.choice(ROLES),
            rng.choice(TOPICS),
            rng.choice(TEXTS),
            rng.randrange(1, TICKETS + 1) if rng.random() < 0.1 else None,
            "bot",
            rng.choice(OUTCOMES),
            secrets.token_hex(6),
        )
        for moment in moments
    ]


async def seed(url: str, rows: int) -> float:
    """Fill the database; return seconds taken."""
    started = time.perf_counter()
    engine = create_engine(url)
    rng = random.Random(1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(Person),
                [
                    {"display_name": f"Orang {i}", "role": rng.choice(ROLES[:5])}
                    for i in range(PEOPLE)
                ],
            )
            tickets = []
            for _ in range(TICKETS):
                created = YEAR_START + timedelta(seconds=rng.randrange(365 * 24 * 3600))
                first = created + timedelta(minutes=rng.randrange(5, 600))
                closed = first + timedelta(hours=rng.randrange(1, 96))
                done = rng.random() < 0.9
                tickets.append(
                    {
                        "requester_id": rng.randrange(1, PEOPLE + 1),
                        "channel": "telegram",
                        "chat_id": "1",
                        "question": rng.choice(TEXTS),
                        "status": "closed" if done else "open",
                        "created_at": created,
                        "updated_at": created,
                        "first_response_at": first,
                        "closed_at": closed if done else None,
                    }
                )
            await conn.execute(insert(Ticket), tickets)
        moments = _moments(rows)
        for start in range(0, rows, BATCH):
            async with engine.begin() as conn:
                await conn.exec_driver_sql(INSERT, _rows(moments[start : start + BATCH], start))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def build_digest(url: str, out: Path) -> dict[str, Any]:
    """One weekly digest, as the scheduler builds it."""
    from schedules import digest_render
    from schedules.digest import compute, week_before
    from storage.database import reading

    engine = create_engine(url)
    try:
        started = time.perf_counter()
        async with reading(session_factory(engine)) as session:
            figures = await compute(session, week_before(DIGEST_AT, ZONE))
            computed = time.perf_counter()
            _short, full, files = await digest_render.build(session, figures)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    for file in files:
        (out / file.name).write_bytes(file.data)
    (out / "digest.html").write_text(full, encoding="utf-8")
    return {
        "seconds": round(elapsed, 3),
        "figures_seconds": round(computed - started, 3),
        "messages": figures.messages,
        "xlsx_bytes": len(files[1].data),
    }


async def full_report(url: str, out: Path) -> dict[str, Any]:
    """The full-year XLSX report through `helpdesk report`'s code."""
    from storage.export import export_report

    engine = create_engine(url)
    target = out / "laporan-2026.xlsx"
    try:
        started = time.perf_counter()
        count = await export_report(
            session_factory(engine),
            date(2026, 1, 1),
            date(2026, 12, 31),
            ZONE,
            target,
            fmt="xlsx",
        )
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "rows": count,
        "seconds": round(elapsed, 2),
        "rows_per_second": round(count / elapsed),
        "bytes": target.stat().st_size,
    }


def _peak_rss_mb() -> int:
    """This process's peak resident memory.

    VmHWM belongs to the process image, so it starts afresh at exec; getrusage's ru_maxrss
    is kept across exec and would report the seeding parent's peak instead.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _child(task: str, url: str, out: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--task", task, "--url", url, "--out", str(out)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="folder to keep the database and files in")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: use the database seeded before"
    )
    parser.add_argument("--task", choices=("digest", "report"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.task:
        work = build_digest if args.task == "digest" else full_report
        result = asyncio.run(work(args.url, args.out))
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="digest-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    reuse = args.reuse and (folder / "bench.sqlite3").exists()
    upgrade(url)
    seeded = 0.0 if reuse else asyncio.run(seed(url, args.rows))
    results = {
        "rows": args.rows,
        "seed_seconds": round(seeded, 1),
        "seed_rows_per_second": round(args.rows / seeded) if seeded else None,
        "digest": _child("digest", url, folder),
        "report": _child("report", url, folder),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.json:
        print(json.dumps(results))
        return
    d, r = results["digest"], results["report"]
    if seeded:
        print(
            f"seeded {args.rows:,} interactions in {seeded:.1f} s "
            f"({results['seed_rows_per_second']:,} rows/s) into {folder}"
        )
    print(
        f"weekly digest: {d['seconds']} s (figures {d['figures_seconds']} s), "
        f"{d['messages']:,} messages, peak RSS {d['peak_rss_mb']} MB   target < 5 s"
    )
    print(
        f"full-year XLSX: {r['rows']:,} rows in {r['seconds']} s = {r['rows_per_second']:,} "
        f"rows/s, peak RSS {r['peak_rss_mb']} MB   target >= 50,000 rows/s, < 300 MB"
    )


if __name__ == "__main__":
    main()
