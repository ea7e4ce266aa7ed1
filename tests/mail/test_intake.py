"""IMAP intake against Dovecot: stored before flagged, once only, and every wait bounded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mail.decode import raw_of
from mail.imapwire import by_size, external_id, parse_fetch
from mail.intake import ImapIntake, ImapOptions
from storage.models import InboundUpdate, MailboxState
from tests.e2e.mail_harness import make_mail
from tests.mailservers import DovecotServer, dovecot_server_fixture  # noqa: F401
from tests.mailservers.dovecot import free_port

pytestmark = pytest.mark.db


def options_for(dovecot: DovecotServer, **changes: object) -> ImapOptions:
    values = {"host": dovecot.host, "port": dovecot.port, "username": dovecot.user,
              "password": dovecot.password, "security": "none", "idle_renew": 2.0,
              "timeout": 2.0, "reconnect_min": 0.1, "reconnect_max": 0.5, **changes}  # fmt: skip
    return ImapOptions(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(intake: ImapIntake) -> AsyncIterator[ImapIntake]:
    task = asyncio.create_task(intake.run())
    try:
        yield intake
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def stored(sessions: async_sessionmaker[AsyncSession]) -> list[InboundUpdate]:
    async with sessions() as session:
        rows = await session.scalars(select(InboundUpdate).order_by(InboundUpdate.id))
        return list(rows)


async def until(check: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[misc]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_stored_before_flagged_and_never_twice(
    dovecot_server: DovecotServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    raw, mid = make_mail("a@client.example", "Tanya", "Halo")
    uid = await asyncio.to_thread(dovecot_server.append, raw)
    flags_at_store: list[set[str]] = []

    def on_stored() -> None:
        # Called right after the commit, before the flag is set (C30).
        flags_at_store.append(dovecot_server.flags(uid))

    intake = ImapIntake(options_for(dovecot_server), sessions, on_stored=on_stored)
    async with running(intake):
        await until(lambda: _has_flag(dovecot_server, uid))
    assert flags_at_store and "\\Seen" not in flags_at_store[0]
    [row] = await stored(sessions)
    assert row.external_id == mid and raw_of(row.payload) == raw
    assert row.payload["uid"] == uid

    # A restart, and the same message delivered again: still one row.
    await asyncio.to_thread(dovecot_server.append, raw)
    async with running(ImapIntake(options_for(dovecot_server), sessions)) as again:
        await until(lambda: _all_seen(dovecot_server))
    assert len(await stored(sessions)) == 1 and again.stored == 0


async def test_uidvalidity_change_does_not_answer_the_mailbox_again(
    dovecot_server: DovecotServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for number in range(3):
        raw, _ = make_mail(f"u{number}@client.example", "Tanya", f"Pesan {number}")
        await asyncio.to_thread(dovecot_server.append, raw)
    async with running(ImapIntake(options_for(dovecot_server), sessions)):
        await until(lambda: _all_seen(dovecot_server))
    # The server renumbers its folder (as after a restore): our stored position is stale.
    async with sessions.begin() as session:
        await session.execute(update(MailboxState).values(uidvalidity=1, last_uid=999))
    raw, _ = make_mail("new@client.example", "Tanya", "Pesan baru")
    await asyncio.to_thread(dovecot_server.append, raw)

    async with running(ImapIntake(options_for(dovecot_server), sessions)) as intake:
        await until(lambda: _all_seen(dovecot_server))
    rows = await stored(sessions)
    assert len(rows) == 4 and intake.stored == 1  # only the new one


async def test_silent_half_open_connection_is_found_and_mail_fetched(
    dovecot_server: DovecotServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # C27 scenario 2: no byte comes back; the IDLE renewal finds it, the reconnect fetches.
    intake = ImapIntake(options_for(dovecot_server), sessions)
    async with running(intake):
        await until(lambda: _connected(intake, 1))
        await asyncio.sleep(0.3)
        assert await asyncio.to_thread(dovecot_server.pause_connections) >= 1
        raw, _ = make_mail("late@client.example", "Tanya", "Dikirim saat koneksi mati")
        await asyncio.to_thread(dovecot_server.append, raw)
        await until(lambda: _count(sessions, 1), timeout=30)
        assert intake.connections >= 2
        await asyncio.to_thread(dovecot_server.resume_connections)


async def test_idle_answered_with_bye_reconnects(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # C27 scenario 1: IDLE answered with BYE and a close, no continuation, no tagged answer.
    server = ByeOnIdle()
    await server.start()
    statuses: list[tuple[str, bool, str]] = []
    options = ImapOptions(host="127.0.0.1", port=server.port, username="u", password="p",
                          security="none", idle_renew=60, timeout=2, reconnect_min=0.05,
                          reconnect_max=0.1)  # fmt: skip
    intake = ImapIntake(options, sessions, on_status=lambda *a: statuses.append(a))
    try:
        async with running(intake):
            await until(lambda: _idles(server, 3), timeout=10)
    finally:
        await server.stop()
    assert intake.connections >= 3  # each BYE led to a new session, well before idle_renew
    assert ("imap", False) in {s[:2] for s in statuses}


async def test_alert_after_failing_too_long_and_again_on_recovery(
    dovecot_server: DovecotServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    alerts: list[bool] = []

    async def alert(detail: str, recovered: bool) -> None:
        alerts.append(recovered)

    await asyncio.to_thread(dovecot_server.stop)
    options = options_for(dovecot_server, alert_after=0.3)
    intake = ImapIntake(options, sessions, on_alert=alert)
    async with running(intake):
        await until(lambda: _equals(alerts, [False]))
        await asyncio.to_thread(dovecot_server.start)
        await until(lambda: _equals(alerts, [False, True]))


def test_fetch_answer_with_uid_after_the_literal() -> None:
    lines = [b"1 FETCH (BODY[] {5}", bytearray(b"hello"), b" UID 7)", b"FETCH completed"]
    assert parse_fetch(lines) == [(7, b"hello")]


def test_external_id_without_message_id_is_a_digest() -> None:
    assert external_id(b"Subject: x\r\n\r\nbody").startswith("sha256:")
    assert external_id(b"Message-ID: <a@b>\r\n\r\nbody") == "a@b"


class ByeOnIdle:
    """A scripted IMAP server: login and select work, IDLE gets `* BYE` and a close."""

    def __init__(self) -> None:
        self.port = free_port()
        self.idles = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] ready\r\n")
        try:
            while line := await reader.readline():
                tag, _, command = line.decode().strip().partition(" ")
                verb = command.split(" ")[0].upper()
                if verb == "CAPABILITY":
                    writer.write(
                        f"* CAPABILITY IMAP4rev1 IDLE UIDPLUS\r\n{tag} OK done\r\n".encode()
                    )
                elif verb == "LOGIN":
                    writer.write(f"{tag} OK LOGIN completed\r\n".encode())
                elif verb == "SELECT":
                    writer.write(
                        f"* 0 EXISTS\r\n* OK [UIDVALIDITY 1700000000] UIDs valid\r\n"
                        f"{tag} OK [READ-WRITE] SELECT completed\r\n".encode()
                    )
                elif verb == "UID":
                    writer.write(f"* SEARCH\r\n{tag} OK SEARCH completed\r\n".encode())
                elif verb == "IDLE":
                    self.idles += 1
                    writer.write(b"* BYE timeout\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(f"{tag} OK\r\n".encode())
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _has_flag(dovecot: DovecotServer, uid: int) -> bool:
    return "\\Seen" in await asyncio.to_thread(dovecot.flags, uid)


async def _all_seen(dovecot: DovecotServer) -> bool:
    uids = await asyncio.to_thread(dovecot.uids)
    return all([await _has_flag(dovecot, uid) for uid in uids])


async def _connected(intake: ImapIntake, count: int) -> bool:
    return intake.connections >= count


async def _count(sessions: async_sessionmaker[AsyncSession], count: int) -> bool:
    return len(await stored(sessions)) >= count


async def _idles(server: ByeOnIdle, count: int) -> bool:
    return server.idles >= count


async def _equals(values: list[bool], expected: list[bool]) -> bool:
    return values == expected


def test_fetches_hold_a_bounded_amount_of_mail() -> None:
    sizes = [(1, 5_000_000), (2, 2_000_000), (3, 3_000_000), (4, 20_000_000), (5, 10)]
    assert by_size(sizes) == [
        ([1, 2], 7_000_000), ([3], 3_000_000), ([4], 20_000_000), ([5], 10)
    ]  # fmt: skip
