"""The email channel under faults: IMAP dropped, Dovecot restarted, SMTP away, a kill."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.messages import Channel
from helpdesk.settings import Settings
from mail.transport import SmtpTransport
from storage.database import create_engine
from storage.models import InboundUpdate
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import RunningHelpdesk, eventually
from tests.e2e.mail_harness import append, mail_settings, make_mail, to_address
from tests.e2e.processes import HELPDESK, HelpdeskProcess
from tests.e2e.test_email import QUESTION, _handled, _outbox_empty, _stored_count
from tests.mailservers import DovecotServer, SmtpSink, dovecot_server_fixture, smtp_sink_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]


@pytest.fixture
def settings(
    api: FakeBotApi, database_url: str, tmp_path: Path, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> Settings:  # fmt: skip
    return mail_settings(api, database_url, dovecot_server, smtp_sink, state_dir=tmp_path)


@pytest.fixture
async def helpdesk(settings: Settings) -> AsyncIterator[RunningHelpdesk]:
    running = RunningHelpdesk(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def senders(count: int) -> list[str]:
    return [f"mhs{number:03}@student.unr.example" for number in range(count)]


def replies_per_sender(sink: SmtpSink, addresses: list[str]) -> Counter[str]:
    return Counter({a: len(to_address(sink, a)) for a in addresses})


async def _append_questions(dovecot: DovecotServer, addresses: list[str]) -> None:
    for address in addresses:
        raw, _ = make_mail(address, "Lupa password", QUESTION)
        await append(dovecot, raw)


async def test_imap_dropped_mid_fetch_and_dovecot_restarted(
    helpdesk: RunningHelpdesk, dovecot_server: DovecotServer, smtp_sink: SmtpSink
) -> None:
    addresses = senders(40)
    await _append_questions(dovecot_server, addresses[:20])
    await smtp_sink.wait_for(1, timeout=20)
    # Killed without a BYE, mid-work: the session processes vanish under the client.
    await asyncio.to_thread(dovecot_server.drop_connections)
    await _append_questions(dovecot_server, addresses[20:30])
    await asyncio.to_thread(dovecot_server.restart)
    await _append_questions(dovecot_server, addresses[30:])

    await eventually(lambda: _handled(helpdesk, 40), timeout=60)
    await eventually(lambda: _outbox_empty(helpdesk), timeout=30)
    counts = replies_per_sender(smtp_sink, addresses)
    assert set(counts.values()) == {1}, counts  # nothing lost, nothing twice
    assert await _stored_count(helpdesk) == 40
    assert helpdesk.service is not None and helpdesk.service.mail_intake is not None
    assert helpdesk.service.mail_intake.connections >= 2  # it did reconnect


async def test_smtp_down_then_up_sends_each_reply_once(
    helpdesk: RunningHelpdesk, dovecot_server: DovecotServer, smtp_sink: SmtpSink
) -> None:
    assert helpdesk.service is not None and helpdesk.service.sender is not None
    transport = helpdesk.service.sender.transports[Channel.EMAIL]
    assert isinstance(transport, SmtpTransport)
    transport.options = dataclasses.replace(transport.options, retry_min=0.2, retry_max=1.0)
    addresses = senders(10)
    await asyncio.to_thread(smtp_sink.stop)
    await _append_questions(dovecot_server, addresses)
    await eventually(lambda: _handled(helpdesk, 10), timeout=30)
    await asyncio.sleep(2)  # several rounds of refused connections
    assert smtp_sink.messages == []

    await asyncio.to_thread(smtp_sink.start)
    await eventually(lambda: _outbox_empty(helpdesk), timeout=30)
    counts = replies_per_sender(smtp_sink, addresses)
    assert set(counts.values()) == {1}, counts


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    imap, smtp = settings.imap, settings.smtp
    assert imap.password is not None and imap.host is not None and smtp.host is not None
    tg = settings.telegram
    assert tg.token is not None
    return {
        **base,
        "HELPDESK_DATABASE_URL": settings.database_url,
        "HELPDESK_TELEGRAM__TOKEN": tg.token.get_secret_value(),
        "HELPDESK_TELEGRAM__BASE_URL": tg.base_url,
        "HELPDESK_TELEGRAM__BASE_FILE_URL": tg.base_file_url,
        "HELPDESK_TELEGRAM__POLL_TIMEOUT": "1",
        "HELPDESK_STATE_DIR": str(tmp_path),
        "HELPDESK_IMAP__HOST": imap.host,
        "HELPDESK_IMAP__PORT": str(imap.port),
        "HELPDESK_IMAP__USERNAME": imap.username,
        "HELPDESK_IMAP__PASSWORD": imap.password.get_secret_value(),
        "HELPDESK_IMAP__SECURITY": "none",
        "HELPDESK_IMAP__TIMEOUT": "5",
        "HELPDESK_IMAP__IDLE_RENEW": "5",
        "HELPDESK_SMTP__HOST": smtp.host,
        "HELPDESK_SMTP__PORT": str(smtp.port),
        "HELPDESK_SMTP__SECURITY": "none",
        "HELPDESK_MAIL__ADDRESS": settings.mail.address,
        "HELPDESK_LOG_LEVEL": "DEBUG",
    }


# When `helpdesk run` is killed: as soon as the first mail is in the database (fetched,
# not yet answered), after 3 of the 30 replies, and after 20 of them.
KILL_MOMENTS = {"fetched": 0, "early": 3, "late": 20}


@pytest.mark.parametrize(
    ("delivery", "moment"),
    [("process", "fetched"), ("process", "early"), ("process", "late"), ("inline", "early")],
)
async def test_kill_between_fetch_and_reply_loses_nothing(
    settings: Settings, tmp_path: Path, dovecot_server: DovecotServer, smtp_sink: SmtpSink,
    delivery: str, moment: str,
) -> None:  # fmt: skip
    assert HELPDESK.exists()
    env = {**_env(settings, tmp_path), "HELPDESK_DELIVERY": delivery}
    addresses = senders(30)
    first = HelpdeskProcess(env, tmp_path / "first.log")
    second = HelpdeskProcess(env, tmp_path / "second.log")
    try:
        await first.start()
        await _append_questions(dovecot_server, addresses)
        if KILL_MOMENTS[moment]:
            await smtp_sink.wait_for(KILL_MOMENTS[moment], timeout=30)
        else:
            await _wait_for_stored_mail(settings.database_url)
        await first.kill()
        at_kill = len(smtp_sink.messages)

        await second.start()
        await smtp_sink.wait_for(len(addresses), timeout=60)
        await asyncio.sleep(1.5)  # anything sent twice would arrive by now
        assert await second.terminate() == 0
    finally:
        await first.close()
        await second.close()
    counts = replies_per_sender(smtp_sink, addresses)
    lost = [a for a, n in counts.items() if n == 0]
    twice = {a: n for a, n in counts.items() if n > 1}
    print(
        f"mail kill, {delivery} delivery, moment {moment}: {len(addresses)} questions, "
        f"{at_kill} replies before the kill; lost {len(lost)}, duplicated {len(twice)}"
    )
    assert not lost, lost
    if delivery == "process":
        # The deliverer outlives its killed parent long enough to finish and note its sends.
        assert twice == {}, twice
        return
    # Sending in the killed process itself: a send in flight at the kill (the server has
    # it, its answer to DATA is not read yet) goes again, at most one per chat and as many
    # chats as the sender serves at once, with the same Message-ID, so the recipient's
    # client shows it once.
    assert len(twice) <= 8 and all(n == 2 for n in twice.values()), twice
    for address in twice:
        ids = {m.message["Message-ID"] for m in to_address(smtp_sink, address)}
        assert len(ids) == 1, (address, ids)


async def _wait_for_stored_mail(database_url: str) -> None:
    """Until some mail is in the database: fetched from IMAP, perhaps not yet answered."""
    engine = create_engine(database_url)

    async def stored() -> bool:
        async with engine.connect() as connection:
            query = select(func.count()).where(InboundUpdate.channel == Channel.EMAIL.value)
            return int((await connection.scalar(query)) or 0) > 0

    try:
        await eventually(stored, timeout=30)
    finally:
        await engine.dispose()
