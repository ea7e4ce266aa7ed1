"""Kill rounds at issue 6's scale: `helpdesk run` in a subprocess, SIGKILL, restart, count.

Each round: 2,000 questions (10 from each of 200 users) queued on the Bot API test server,
`helpdesk run` killed with SIGKILL once a seeded random share of the replies went out,
started again, and every chat's replies counted (lost: a question without its answer;
duplicated: an answer twice). `--group` kills the deliverer too (the whole process group).

    .venv/bin/python bench/kill_scale.py [--rounds 9] [--users 200] [--per-user 10]
        [--group] [--delivery process|inline] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.migrate import upgrade  # noqa: E402
from tests.e2e.killrun import KillResult, kill_round, make_api  # noqa: E402

TOKEN = "7012345678:AAFq3xZ-SecretPartOfTheBotToken_k9w"
WINDOWS = ((0.05, 0.3), (0.35, 0.65), (0.7, 0.95))


async def _database(base: str | None, folder: Path) -> tuple[str, str | None]:
    if not base:
        url = f"sqlite+aiosqlite:///{folder / 'helpdesk.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        return url, None
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"sunari_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(base)
    connection = await asyncpg.connect(
        host=admin.host, port=admin.port or 5432, user=admin.username, database="postgres"
    )
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = admin.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    return url, name


async def one(args: argparse.Namespace, seed: int) -> KillResult:
    with tempfile.TemporaryDirectory(prefix="sunari-kill-") as tmp:
        folder = Path(tmp)
        url, _ = await _database(args.database_url, folder)
        async with make_api(TOKEN, args.users) as api:
            return await kill_round(
                api, url, folder, seed=seed, user_count=args.users, per_user=args.per_user,
                window=WINDOWS[seed % len(WINDOWS)], kill_group=args.group,
                delivery=args.delivery,
            )  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--group", action="store_true", help="kill the deliverer too")
    parser.add_argument("--delivery", choices=("process", "inline"), default="process")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server to use")
    args = parser.parse_args()

    results = []
    for seed in range(1, args.rounds + 1):
        result = await one(args, seed)
        print(result.line(), flush=True)
        results.append(result)
    lost = sum(r.lost for r in results)
    duplicated = sum(r.duplicated for r in results)
    doubt = sum(r.in_doubt for r in results)
    print(f"rounds={len(results)} lost={lost} duplicated={duplicated} in_doubt={doubt}")


if __name__ == "__main__":
    asyncio.run(main())
