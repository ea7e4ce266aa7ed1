"""Email intake throughput: 1,000 messages waiting in Dovecot, answered into an SMTP sink.

The messages are appended while the helpdesk is down. Then the helpdesk starts (default
settings: SQLite, replies sent from the `helpdesk deliver` process) and the clock runs until
the sink holds every answer. In the same run a bare aioimaplib loop only fetches the same
messages (UID SEARCH, then UID FETCH BODY.PEEK[] in chunks), for comparison.

    .venv/bin/python bench/mail_ingest.py [--messages 1000] [--delivery process|inline]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aioimaplib  # noqa: E402

from helpdesk.app import Service  # noqa: E402
from helpdesk.settings import Settings, TelegramSettings  # noqa: E402
from helpdesk.settings_mail import ImapSettings, MailSettings, SmtpSettings  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.botapi.server import FakeBotApi  # noqa: E402
from tests.e2e.mail_harness import make_mail  # noqa: E402
from tests.mailservers import DovecotServer  # noqa: E402
from tests.mailservers.dovecot import free_port  # noqa: E402

QUESTIONS = (
    "Saya lupa password LMS, bagaimana cara reset?",
    "Bagaimana cara aktivasi akun kuliah online?",
    "Bagaimana cara membuka enrollment mata kuliah daring?",
    "Bagaimana cara membuat mata kuliah daring baru?",
    "Bagaimana cara mendaftar kuliah PDITT/SPADA?",
    "Bagaimana cara mendapatkan sertifikat nilai kuliah daring?",
)
CHUNK = 50
# An SMTP sink in a process of its own that prints one line per message it accepts: the
# test fixture's sink parses every message on a thread of this process, which would take
# CPU from the helpdesk being measured.
SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Count:
    async def handle_DATA(self, server, session, envelope):
        sys.stdout.write("1\\n"); sys.stdout.flush()
        return "250 OK"
controller = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.read()
controller.stop()
"""


class CountingSink:
    """The sink subprocess and the number of messages it has accepted."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.count = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SINK, str(self.port),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stdout is not None
        await self._process.stdout.readline()  # "ready"
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while await self._process.stdout.readline():
            self.count += 1

    async def stop(self) -> None:
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()
            await self._process.wait()
        if self._reader is not None:
            await self._reader


def fill(dovecot: DovecotServer, count: int) -> None:
    """APPEND `count` questions from as many senders, in one IMAP session."""
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    conn.login(dovecot.user, dovecot.password)
    for number in range(count):
        raw, _ = make_mail(
            f"Mahasiswa {number} <mhs{number:05}@student.unr.example>",
            "Pertanyaan",
            QUESTIONS[number % len(QUESTIONS)],
        )
        conn.append("INBOX", "", None, raw)
    conn.logout()


async def bare_fetch(dovecot: DovecotServer) -> tuple[int, float]:
    """A plain aioimaplib loop that only fetches every message; (count, seconds)."""
    start = time.perf_counter()
    client = aioimaplib.IMAP4(host=dovecot.host, port=dovecot.port, timeout=30)
    await client.wait_hello_from_server()
    await client.login(dovecot.user, dovecot.password)
    await client.select("INBOX")
    found = await client.uid_search("ALL", charset=None)
    uids = bytes(found.lines[0]).split()
    fetched = 0
    for begin in range(0, len(uids), CHUNK):
        uid_set = b",".join(uids[begin : begin + CHUNK]).decode()
        response = await client.uid("fetch", uid_set, "(UID BODY.PEEK[])")
        fetched += sum(1 for line in response.lines if isinstance(line, bytearray))
    await client.logout()
    return fetched, time.perf_counter() - start


def settings_for(
    api: FakeBotApi,
    database_url: str,
    dovecot: DovecotServer,
    sink: CountingSink,
    args: argparse.Namespace,
) -> Settings:
    return Settings(
        database_url=database_url,
        delivery=args.delivery,
        telegram=TelegramSettings.model_validate(
            {
                "token": api.token,
                "base_url": api.base_url,
                "base_file_url": api.base_file_url,
                "poll_timeout": 1,
            }
        ),
        imap=ImapSettings.model_validate(
            {
                "host": dovecot.host,
                "port": dovecot.port,
                "username": dovecot.user,
                "password": dovecot.password,
                "security": "none",
            }
        ),
        smtp=SmtpSettings(host=sink.host, port=sink.port, security="none"),
        mail=MailSettings(address=dovecot.user),
        log_level="WARNING",
    )


async def helpdesk_run(
    settings: Settings, sink: CountingSink, count: int, *, progress: bool
) -> float:
    """Seconds from start-up until the sink holds `count` answers."""
    start = time.perf_counter()
    service = Service(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        while sink.count < count:
            await asyncio.sleep(0.01 if not progress else 1.0)
            if progress:
                stored = service.mail_intake.stored if service.mail_intake else 0
                handled = service.processor.handled_count
                elapsed = time.perf_counter() - start
                print(
                    f"{elapsed:6.2f} s: stored {stored}, handled {handled}, answered {sink.count}"
                )
        return time.perf_counter() - start
    finally:
        stop.set()
        await task


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sunari-mail-bench-") as folder:
        database_url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
        await asyncio.to_thread(upgrade, database_url)
        dovecot = DovecotServer()
        await asyncio.to_thread(dovecot.start)
        try:
            await asyncio.to_thread(fill, dovecot, args.messages)
            fetched, bare_seconds = await bare_fetch(dovecot)
            sink = CountingSink()
            await sink.start()
            try:
                async with FakeBotApi(username="unr_helpdesk_bot") as api:
                    settings = settings_for(api, database_url, dovecot, sink, args)
                    seconds = await helpdesk_run(
                        settings, sink, args.messages, progress=args.progress
                    )
                    answered = sink.count
            finally:
                await sink.stop()
        finally:
            await asyncio.to_thread(dovecot.close)

    helpdesk_rate = answered / seconds
    bare_rate = fetched / bare_seconds
    kind = database_url.split(":")[0]
    print(f"messages appended while down:   {args.messages}")
    print(f"bare aioimaplib fetch loop:     {fetched} in {bare_seconds:.2f} s", end="")
    print(f" = {bare_rate:.1f} msgs/s")
    print(f"helpdesk, start to answered:    {answered} in {seconds:.2f} s", end="")
    print(f" = {helpdesk_rate:.1f} msgs/s ({args.delivery} delivery, {kind})")
    print(f"ratio helpdesk / bare fetch:    {helpdesk_rate / bare_rate:.4f}")
    print(f"target >= 30 answered/s:        {'met' if helpdesk_rate >= 30 else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--delivery", choices=["process", "inline"], default="process")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--progress", action="store_true", help="print progress each second")
    asyncio.run(main(parser.parse_args()))
