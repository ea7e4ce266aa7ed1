"""`helpdesk chat`: the same helpdesk in a terminal, through the same queues as Telegram."""

from __future__ import annotations

import asyncio
import getpass
import queue
import threading
import uuid
from dataclasses import replace

import typer

from handlers.intake import InboundProcessor
from handlers.markup import to_plain
from handlers.messages import Button, Channel, Inbound, Outbound, Sender
from handlers.sender import OutboxSender
from handlers.service import Helpdesk
from helpdesk.settings import Settings
from storage import queues
from storage.database import create_engine, session_factory

PROMPT = "anda> "


class ConsoleTransport:
    """Prints messages; remembers the last buttons so a number typed presses one."""

    channel = Channel.CONSOLE

    def __init__(self) -> None:
        self.buttons: list[Button] = []

    async def deliver(self, outbound: Outbound) -> str | None:
        """Print the message and number its buttons."""
        body = to_plain(outbound.html).strip()
        if outbound.purpose == "callback_answer":
            if body:
                typer.echo(f"  ({body})")
            return None
        typer.echo(f"helpdesk> {body}")
        self.buttons = [b for row in outbound.buttons for b in row]
        for number, button in enumerate(self.buttons, start=1):
            typer.echo(f"  [{number}] {button.label}")
        return None


def to_inbound(line: str, transport: ConsoleTransport, user: str) -> Inbound:
    """A typed line as the helpdesk sees it: a command, a button number or a question."""
    base = Inbound(channel=Channel.CONSOLE, sender=Sender(user, user), chat_id=user)
    stripped = line.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(transport.buttons):
        data = transport.buttons[int(stripped) - 1].data
        return replace(base, callback=data, callback_ref=uuid.uuid4().hex)
    if stripped.startswith("/"):
        word, _, args = stripped[1:].partition(" ")
        return replace(base, command=word.lower(), args=args.strip())
    return replace(base, text=stripped)


async def run_console(settings: Settings, helpdesk: Helpdesk) -> None:
    """Read lines until end of input or /keluar."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    transport = ConsoleTransport()
    inbound_by_key: dict[str, Inbound] = {}
    processor = InboundProcessor(
        sessions,
        helpdesk,
        {Channel.CONSOLE.value: lambda p: inbound_by_key.pop(p["key"])},
    )
    sender = OutboxSender(sessions, {Channel.CONSOLE: transport})
    user = getpass.getuser()
    lines = LineReader()
    typer.echo("SUNARI Helpdesk (konsol). Ketik pertanyaan, /bantuan, atau /keluar.")
    try:
        while True:
            line = await lines.read()
            if line is None or line.strip() in ("/keluar", "/exit"):
                break
            if not line.strip():
                continue
            key = uuid.uuid4().hex
            inbound_by_key[key] = to_inbound(line, transport, user)
            async with sessions.begin() as session:
                await queues.store_inbound(session, Channel.CONSOLE, [(key, {"key": key})])
            await processor.process_pending()
            await sender.send_due()
    finally:
        await engine.dispose()


class LineReader:
    """Typed lines, read one at a time when asked, in a thread of its own.

    `input` blocks until Enter and cannot be interrupted from the event loop. In asyncio's
    own thread pool, Ctrl-C would cancel the chat but the end of `asyncio.run` would then
    wait for that Enter; a daemon thread is simply left behind when the process ends.
    """

    def __init__(self) -> None:
        self._asks: queue.SimpleQueue[asyncio.Future[str | None]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="console input", daemon=True).start()

    async def read(self) -> str | None:
        """The next line, or None at the end of input."""
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._asks.put(answer)
        return await answer

    def _serve(self) -> None:
        while True:
            answer = self._asks.get()
            try:
                line: str | None = input(PROMPT)
            except EOFError:
                line = None
                typer.echo()  # the shell's prompt starts on a line of its own
            answer.get_loop().call_soon_threadsafe(_settle, answer, line)
            if line is None:
                return


def _settle(answer: asyncio.Future[str | None], line: str | None) -> None:
    if not answer.done():  # a chat cancelled by Ctrl-C no longer waits for it
        answer.set_result(line)
