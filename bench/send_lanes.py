"""CPU per Bot API send: one httpx pool against one-connection lanes (`bot.lanes`).

The Bot API test server runs in a child process, so this process's CPU time is the
client's alone. Each way sends the same messages with the same number in flight (the
outbox sender's eight); printed: sends per second and client CPU per send.

    .venv/bin/python bench/send_lanes.py [--sends 3000] [--in-flight 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.lanes import LaneRequest
from tests.botapi.server import FakeBotApi

TOKEN = "123456789:TEST-token"
USERS = range(1000, 1200)


async def serve() -> None:
    """The child: a test server with the users, its address on standard output."""
    async with FakeBotApi(TOKEN, username="bench_bot") as api:
        for user in USERS:
            api.user(user, f"Pengguna {user}")
        print(api.base_url, flush=True)
        await asyncio.Event().wait()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(base_url: str, request: BaseRequest, sends: int, in_flight: int) -> str:
    """Send `sends` messages with `in_flight` at a time; a line of figures."""
    bot = Bot(TOKEN, base_url=base_url, request=request)
    await bot.initialize()
    limit = asyncio.Semaphore(in_flight)

    async def send(number: int) -> None:
        async with limit:
            await bot.send_message(USERS[number % len(USERS)], f"Jawaban nomor {number}. " * 5)

    began, cpu = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(send(n) for n in range(sends)))
    elapsed, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    await bot.shutdown()
    return f"{sends / elapsed:7.0f} sends/s  {cpu / sends * 1000:.2f} ms CPU a send"


def main() -> None:
    """Start the server, then measure each way in turn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        ways: dict[str, Callable[[], BaseRequest]] = {
            "one pool of 32 connections": lambda: HTTPXRequest(connection_pool_size=32),
            f"{args.in_flight} one-connection lanes": lambda: LaneRequest(args.in_flight),
        }
        for _ in range(args.repeat):
            for name, make in ways.items():
                figures = asyncio.run(measure(base_url, make(), args.sends, args.in_flight))
                print(f"{name:28} {figures}", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
