"""Sending from a process of its own: `helpdesk run` starts `helpdesk deliver` beside it.

Sending through python-telegram-bot costs about as much CPU as everything else the helpdesk
does per message; in a second process it runs on a second core. The outbox is in the
database, so the two processes share nothing else. The parent writes the settings as one
JSON line on the child's standard input, then one byte whenever it queued messages; the
child stops when its input ends, which also happens when the parent is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import sys
from typing import Any

from handlers.health import StatusCallback, no_status, throttled
from helpdesk.settings import Settings

logger = logging.getLogger(__name__)

RESTART_DELAY = 2.0


def settings_line(settings: Settings) -> bytes:
    """The settings as one JSON line, secrets included (it goes through a private pipe)."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    for key in ("token", "secret_token"):
        secret = getattr(settings.telegram, key)
        data["telegram"][key] = None if secret is None else secret.get_secret_value()
    for section in ("imap", "smtp"):
        password = getattr(settings, section).password
        data[section]["password"] = None if password is None else password.get_secret_value()
    return json.dumps(data).encode() + b"\n"


class DeliveryProcess:
    """The parent's handle on `helpdesk deliver`: start, wake, restart, stop.

    The child's standard output carries its status reports (one JSON line each) to
    `on_status`; its log goes to standard error as usual.
    """

    def __init__(self, settings: Settings, *, on_status: StatusCallback = no_status) -> None:
        self.settings = settings
        self.on_status = on_status
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False

    async def run(self) -> None:
        """Keep a deliverer running until `stop`; one that dies is started again."""
        while not self._stopping:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "helpdesk",
                "deliver",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(settings_line(self.settings))
            await self._read_status(self._process.stdout)
            code = await self._process.wait()
            if not self._stopping:
                logger.error("the delivery process stopped (exit %s); starting it again", code)
                await asyncio.sleep(RESTART_DELAY)

    async def _read_status(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            try:
                component, ok, detail = json.loads(line)
                self.on_status(str(component), bool(ok), str(detail))
            except (ValueError, TypeError):
                logger.warning("unreadable status line from the delivery process: %r", line[:80])

    def wake(self) -> None:
        """Messages were queued: tell the deliverer (one byte; a full pipe means it knows)."""
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            return
        transport = process.stdin.transport
        if transport.is_closing() or transport.get_write_buffer_size() > 64:
            return
        with contextlib.suppress(ConnectionError):
            process.stdin.write(b"\n")

    async def stop(self, timeout: float) -> None:
        """End the deliverer's input, so it finishes its batch and exits."""
        self._stopping = True
        process = self._process
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            logger.warning("the delivery process did not stop within %s s; killed", timeout)
            process.kill()
            await process.wait()


async def deliver(settings: Settings) -> None:
    """The child: send from the outbox until standard input ends or SIGTERM arrives."""
    from bot.channel import TelegramChannel
    from handlers.journal import SentJournal
    from handlers.messages import Channel
    from handlers.sender import OutboxSender
    from helpdesk.app import (
        freeze_start_up_objects,
        helpdesk_config,
        journal_path,
        staff_chat_moved,
        telegram_options,
    )
    from helpdesk.files import file_loader
    from helpdesk.mail_wiring import email_transports
    from storage.database import create_engine, session_factory

    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    journal = SentJournal(journal_path(settings))
    # One deliverer at a time: a new one waits here until one left by a killed parent exits.
    await asyncio.to_thread(fcntl.flock, journal.fileno(), fcntl.LOCK_EX)
    channel = TelegramChannel(telegram_options(settings), sessions)
    status = throttled(_status_to_parent)
    mail = email_transports(settings, sessions, helpdesk_config(settings), on_status=status)
    sender = OutboxSender(
        sessions,
        {Channel.TELEGRAM: channel.transport, **mail},
        journal=journal,
        max_attempts=settings.telegram.max_send_attempts,
        on_chat_moved=staff_chat_moved,
        shares_loop=False,
        on_status=status,
        files=file_loader(settings, sessions, channel.transport.bot),
    )
    try:
        await channel.application.initialize()
        freeze_start_up_objects()
        loop = asyncio.get_running_loop()
        # A service manager or Ctrl-C signals the whole group: stop between batches.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, sender.stop)
        reader = asyncio.create_task(_follow_input(sender))
        await sender.run()
        reader.cancel()
    finally:
        for transport in mail.values():
            await transport.close()
        await channel.application.shutdown()
        await engine.dispose()
        journal.close()


async def _follow_input(sender: Any) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while chunk := await reader.read(4096):
        if chunk:
            sender.wake()
    sender.stop()  # the parent is gone or stopping


def _status_to_parent(component: str, ok: bool, detail: str) -> None:
    # One short line on a pipe the parent reads at once; a parent gone means we stop soon.
    with contextlib.suppress(OSError):
        os.write(sys.stdout.fileno(), json.dumps([component, ok, detail]).encode() + b"\n")


def read_settings() -> Settings:
    """The settings line the parent wrote first."""
    line = os.read(sys.stdin.fileno(), 1 << 20)
    first, _, rest = line.partition(b"\n")
    if rest:
        logger.debug("wake-ups before start: %s bytes", len(rest))
    return Settings(**json.loads(first))
