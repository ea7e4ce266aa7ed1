"""Start-up: wires the database, the helpdesk and the channels, and runs them together."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import hashlib
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel import TelegramChannel, TelegramOptions
from handlers.config import HelpdeskConfig
from handlers.delivery import to_payload
from handlers.flows.reminders import FlowReminders
from handlers.health import HealthRegistry
from handlers.intake import InboundProcessor
from handlers.journal import SentJournal
from handlers.knowledge import KnowledgeBase
from handlers.matching import Matcher
from handlers.messages import Channel, Outbound
from handlers.sender import OutboxSender
from handlers.service import Helpdesk
from handlers.texts import text
from handlers.turn import STAFF_CHAT_KEY
from helpdesk.delivery import DeliveryProcess
from helpdesk.files import file_loader
from helpdesk.health_wiring import HealthTasks
from helpdesk.lms import build_lms_worker, lms_config
from helpdesk.mail_wiring import email_decoders, email_intake, email_rules, email_transports
from helpdesk.scheduling import schedule_config
from helpdesk.settings import Settings
from schedules.runner import Scheduler
from storage import kv, queues
from storage.database import create_engine, session_factory

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE = 15.0


def helpdesk_config(settings: Settings, *, with_lms: bool = False) -> HelpdeskConfig:
    """The handlers' view of the settings (the LMS only where an LMS worker runs)."""
    staff_chat = None
    if settings.telegram.staff_chat_id is not None:
        staff_chat = (Channel.TELEGRAM.value, str(settings.telegram.staff_chat_id))
    return HelpdeskConfig(
        staff_ids={
            Channel.TELEGRAM.value: frozenset(str(i) for i in settings.staff.telegram_ids),
            Channel.EMAIL.value: frozenset(settings.mail.staff_addresses),
        },
        staff_chat=staff_chat,
        language=settings.language,
        zone=settings.zone,
        contact=settings.contact.model_dump(),
        lms=lms_config(settings) if with_lms else None,
        flows=settings.flows.as_config(),
        max_text_chars=settings.limits.max_text_chars,
        max_file_bytes=int(settings.limits.max_file_mb * 1024 * 1024),
        email=email_rules(settings),
    )


def build_helpdesk(settings: Settings, *, with_lms: bool = False) -> Helpdesk:
    """The channel-independent helpdesk with its knowledge base."""
    kb = KnowledgeBase.load(settings.kb_path)
    helpdesk = Helpdesk(
        helpdesk_config(settings, with_lms=with_lms),
        kb,
        Matcher(kb, threshold=settings.match_threshold),
    )
    helpdesk.schedule = schedule_config(settings)
    return helpdesk


def freeze_start_up_objects() -> None:
    """Keep what start-up built (modules, knowledge base, matcher) out of garbage collection.

    The cyclic collector otherwise walks those long-lived objects again and again while
    messages are handled; freezing them took the Telegram benchmark's slowest rounds from
    433 to 560 answers a second. Start-up garbage is collected first, not frozen with them.
    """
    gc.collect()
    gc.freeze()


def journal_path(settings: Settings) -> Path:
    """Where the sender notes accepted sends: one journal per database, never shared."""
    url = make_url(settings.database_url)
    if settings.state_dir is None and url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).with_name(Path(url.database).name + ".sent-journal")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return (settings.state_dir or Path.cwd()) / f"outbox-{digest[:12]}.sent-journal"


def telegram_options(settings: Settings) -> TelegramOptions:
    """The Telegram channel's view of the settings."""
    tg = settings.telegram
    return TelegramOptions(
        token=tg.token.get_secret_value() if tg.token else "",
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        mode=tg.mode,
        webhook_url=tg.webhook_url,
        listen=tg.listen,
        port=tg.port,
        secret_token=tg.secret_token.get_secret_value() if tg.secret_token else None,
        poll_timeout=tg.poll_timeout,
        rate_limit=tg.rate_limit,
    )


async def staff_chat_moved(session: AsyncSession, channel: str, old: str, new: str) -> None:
    """Remember the staff group's new id and say so there."""
    await kv.put(session, f"{channel}.{STAFF_CHAT_KEY}", new)
    notice = text("id", "staff_chat_moved", old=old, new=new)
    outbound = Outbound(channel=Channel(channel), chat_id=new, html=notice)
    queues.enqueue(session, channel, new, to_payload(outbound))


class Service:
    """The running helpdesk: intake, processing and delivery side by side."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings.database_url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.helpdesk = build_helpdesk(settings, with_lms=True)
        self.telegram = TelegramChannel(telegram_options(settings), self.sessions)
        self.health = HealthRegistry()
        self.telegram.on_status = self.health.on_status
        self.journal: SentJournal | None = None
        self.sender: OutboxSender | None = None
        self.delivery: DeliveryProcess | None = None
        self.email_transports = (
            {} if settings.delivery == "process"
            else email_transports(
                settings, self.sessions, self.helpdesk.config, on_status=self.health.on_status
            )
        )  # fmt: skip
        if settings.delivery == "process":
            self.delivery = DeliveryProcess(settings, on_status=self.health.on_status)
            wake = self.delivery.wake
        else:
            self.journal = SentJournal(journal_path(settings))
            self.sender = OutboxSender(
                self.sessions,
                {Channel.TELEGRAM: self.telegram.transport, **self.email_transports},
                journal=self.journal,
                max_attempts=settings.telegram.max_send_attempts,
                on_chat_moved=staff_chat_moved,
                on_status=self.health.on_status,
                files=file_loader(settings, self.sessions, self.telegram.transport.bot),
            )
            wake = self.sender.wake
        self.processor = InboundProcessor(
            self.sessions,
            self.helpdesk,
            {Channel.TELEGRAM.value: self.telegram.decode, **email_decoders(settings)},
            after_commit=wake,
        )
        self.telegram.on_stored = self.processor.wake
        self.lms = build_lms_worker(
            settings, self.sessions, self.helpdesk.config, wake, on_status=self.health.on_status
        )
        self.reminders = FlowReminders(
            sessions=self.sessions, config=settings.flows.as_config(), after_commit=wake
        )
        self.scheduler = Scheduler(self.sessions, self.helpdesk.schedule)
        self.health_tasks = HealthTasks(self)
        self.mail_intake = email_intake(
            settings,
            self.sessions,
            self.helpdesk.config,
            on_stored=self.processor.wake,
            on_status=self.health.on_status,
        )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set or SIGTERM/SIGINT arrives; then stop cleanly."""
        stop = stop or _stop_on_signals()
        try:
            await self.telegram.start()
            if self.journal is not None:
                # One sender per journal: wait for a deliverer a killed process left behind.
                await asyncio.to_thread(fcntl.flock, self.journal.fileno(), fcntl.LOCK_EX)
        except BaseException:
            await self._release()
            raise
        tasks = [
            _supervised("telegram intake", self.telegram.run_intake),
            _supervised("processor", self.processor.run),
            _supervised("sender", self.sender.run if self.sender else self._run_delivery),
            *([_supervised("lms", self.lms.run)] if self.lms else []),
            _supervised("flow reminders", self.reminders.run),
            _supervised("scheduler", self.scheduler.run),
            _supervised("health", self.health_tasks.run),
        ]
        if self.mail_intake is not None:
            tasks.insert(1, _supervised("email intake", self.mail_intake.run))
        logger.info(
            "helpdesk running (%s mode, %s delivery)",
            self.settings.telegram.mode,
            self.settings.delivery,
        )
        try:
            await stop.wait()
        finally:
            await self._shut_down(tasks)
        logger.info("helpdesk stopped")

    async def _run_delivery(self) -> None:
        assert self.delivery is not None
        await self.delivery.run()

    async def _shut_down(self, tasks: list[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()

        def stage(name: str) -> None:
            # Which part of a stop takes long, if one does (a service manager's timeout).
            logger.debug("stopping: %s done after %.2f s", name, loop.time() - began)

        intakes = [t for t in tasks if t.get_name().endswith("intake")]
        workers = [t for t in tasks if t not in intakes]
        # Input not yet confirmed (to Telegram, or flagged in IMAP) comes again: cut it off now.
        for intake in intakes:
            intake.cancel()
        self.processor.stop()
        if self.lms is not None:
            self.lms.stop()
        self.reminders.stop()
        self.scheduler.stop()
        self.health_tasks.stop()
        if self.sender is not None:
            self.sender.stop()
        if self.delivery is not None:
            await self.delivery.stop(SHUTDOWN_GRACE)
            stage("delivery process")
        _, pending = await asyncio.wait(workers, timeout=SHUTDOWN_GRACE)
        for task in pending:
            logger.warning(
                "%s did not finish within %s s; cancelled", task.get_name(), SHUTDOWN_GRACE
            )
            task.cancel()
        await asyncio.gather(*intakes, *workers, return_exceptions=True)
        stage("workers")
        for transport in self.email_transports.values():
            await transport.close()
        await self.telegram.stop()
        stage("telegram")
        await self._release()
        stage("database")

    async def _release(self) -> None:
        await self.engine.dispose()
        if self.journal is not None:
            self.journal.close()


def _supervised(name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    async def guard() -> None:
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                # The loops handle their own errors; this is the last net. Restart, slowly.
                logger.exception("%s stopped on an error; restarting in 5 s", name)
                await asyncio.sleep(5)

    return asyncio.create_task(guard(), name=name)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
