"""The test mail servers answer the real clients the email channel uses."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aioimaplib
import aiosmtplib
import pytest

from tests.mailservers import dovecot as dovecot_module
from tests.mailservers.dovecot import DovecotServer, dovecot_server_fixture  # noqa: F401
from tests.mailservers.smtp import SmtpSink, smtp_sink_fixture  # noqa: F401

RAW = (
    b"From: Mahasiswa <mhs@student.example.test>\r\n"
    b"To: helpdesk@example.test\r\n"
    b"Subject: Tidak bisa login ke e-learning\r\n"
    b"Message-ID: <a1@student.example.test>\r\n"
    b"\r\n"
    b"Halo, saya tidak bisa login.\r\n"
)


def _mail(
    subject: str = "Tiket #12 diterima", to: str = "mhs@student.example.test"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "helpdesk@example.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Terima kasih, permintaan Anda sudah kami terima. Salam — Sunari")
    return message


@contextlib.asynccontextmanager
async def _imap(server: DovecotServer, **kwargs: object) -> AsyncIterator[aioimaplib.IMAP4]:
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=5, **kwargs)
    try:
        await client.wait_hello_from_server()
        response = await client.login(server.user, server.password)
        assert response.result == "OK", response
        yield client
    finally:
        # aioimaplib never closes its transport, not even after LOGOUT: left open, it is
        # reported as an unclosed-transport ResourceWarning (an error here) in a later test.
        if client.protocol.transport is not None:
            client.protocol.transport.close()


# -- Dovecot -------------------------------------------------------------------------------


async def test_fetch_with_peek_leaves_message_unseen_until_store(
    dovecot_server: DovecotServer,
) -> None:
    first = dovecot_server.append(RAW)
    second = dovecot_server.append(RAW.replace(b"a1@", b"a2@"), flags=["\\Seen"])

    async with _imap(dovecot_server) as client:
        await client.select("INBOX")
        unseen = await client.uid_search("UNSEEN")
        fetched = await client.uid("fetch", str(first), "(BODY.PEEK[])")

        assert unseen.lines[0] == str(first).encode()
        assert fetched.result == "OK"
        assert fetched.lines[0].endswith(b"{%d}" % len(RAW))
        assert bytes(fetched.lines[1]) == RAW  # the literal is its own bytearray element
        assert "\\Seen" not in dovecot_server.flags(first)

        stored = await client.uid("store", str(first), "+FLAGS", "(\\Seen)")
        assert stored.result == "OK"
        assert "\\Seen" in dovecot_server.flags(first)
        assert (await client.uid_search("UNSEEN")).lines[0] == b""
        await client.logout()

    assert dovecot_server.uids() == [first, second]
    assert dovecot_server.message_count() == 2


async def test_idle_sees_exists_after_another_clients_append(
    dovecot_server: DovecotServer,
) -> None:
    async with _imap(dovecot_server) as client:
        await client.select("INBOX")

        idle = await client.idle_start(timeout=10)
        await asyncio.to_thread(dovecot_server.append, RAW)
        pushed = await client.wait_server_push(timeout=5)
        client.idle_done()
        await asyncio.wait_for(idle, 5)  # IDLE must finish before the next command

        assert isinstance(pushed, list)
        assert b"1 EXISTS" in pushed
        assert (await client.uid_search("ALL")).lines[0] == b"1"


async def test_restart_keeps_messages_and_uidvalidity(dovecot_server: DovecotServer) -> None:
    uid = dovecot_server.append(RAW)
    async with _imap(dovecot_server) as before:
        selected = await before.select("INBOX")

    await asyncio.to_thread(dovecot_server.restart)

    async with _imap(dovecot_server) as after:
        reselected = await after.select("INBOX")
        found = await after.uid_search("ALL")
    assert dovecot_server.uids() == [uid]
    assert found.lines[0] == str(uid).encode()
    assert _uidvalidity(selected) == _uidvalidity(reselected)


async def test_drop_connections_closes_the_clients_socket(dovecot_server: DovecotServer) -> None:
    lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    async with _imap(dovecot_server, conn_lost_cb=lost.set_result) as client:
        await client.select("INBOX")
        dropped = dovecot_server.drop_connections()

        assert dropped == 1
        # aioimaplib reports the loss only through conn_lost_cb; commands wait for timeout.
        assert await asyncio.wait_for(lost, 5) is None
    assert dovecot_server.message_count() == 0  # the server itself still serves


async def test_graceful_drop_pushes_bye_to_an_idling_client(
    dovecot_server: DovecotServer,
) -> None:
    async with _imap(dovecot_server) as client:
        await client.select("INBOX")
        idle = await client.idle_start(timeout=10)

        dovecot_server.drop_connections(graceful=True)
        pushed = await client.wait_server_push(timeout=5)

        # The BYE arrives as an IDLE push; the IDLE command itself never completes.
        assert isinstance(pushed, list)
        assert any(line.startswith(b"BYE") for line in pushed), pushed
        assert not idle.done()
        idle.cancel()


async def test_paused_session_answers_nothing_until_resumed(
    dovecot_server: DovecotServer,
) -> None:
    async with _imap(dovecot_server) as client:
        await client.select("INBOX")

        assert dovecot_server.pause_connections() == 1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.protocol.simple_command("NOOP"), 0.5)
        dovecot_server.resume_connections()

        assert (await client.noop()).result == "OK"


async def test_users_have_separate_mailboxes(dovecot_server: DovecotServer) -> None:
    dovecot_server.add_user("admisi@example.test", "rahasia")

    dovecot_server.append(RAW, user="admisi@example.test", folder="Arsip Lama")

    assert dovecot_server.uids("Arsip Lama", user="admisi@example.test") == [1]
    assert dovecot_server.message_count() == 0


def test_missing_dovecot_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dovecot_module, "find_dovecot", lambda: None)

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install-mail-deps"):
        dovecot_module.require_dovecot()

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install-mail-deps"):
        dovecot_module.require_dovecot()


def _uidvalidity(response: aioimaplib.Response) -> bytes:
    return bytes(next(line for line in response.lines if b"UIDVALIDITY" in line))


# -- SMTP ----------------------------------------------------------------------------------


async def test_plain_send_is_captured_with_envelope(smtp_sink: SmtpSink) -> None:
    await aiosmtplib.send(
        _mail(),
        hostname=smtp_sink.host,
        port=smtp_sink.port,
        sender="bounce@example.test",
        recipients=["mhs@student.example.test", "arsip@example.test"],
        timeout=5,
    )

    [captured] = await smtp_sink.wait_for(1, timeout=5)
    assert captured.mail_from == "bounce@example.test"
    assert captured.rcpt_tos == ["mhs@student.example.test", "arsip@example.test"]
    assert captured.message["Subject"] == "Tiket #12 diterima"
    assert "Salam — Sunari" in captured.message.get_content()
    assert captured.raw.startswith(b"From: helpdesk@example.test\r\n")
    assert captured.auth_user is None


async def test_starttls_and_auth_with_a_trusted_self_signed_cert() -> None:
    with SmtpSink(starttls=True, require_auth=("helpdesk", "s3cret")) as sink:
        await aiosmtplib.send(
            _mail(),
            hostname=sink.host,
            port=sink.port,
            start_tls=True,
            tls_context=sink.client_tls_context(),
            username="helpdesk",
            password="s3cret",
            timeout=5,
        )

        [captured] = await sink.wait_for(1)
        assert captured.auth_user == "helpdesk"

        # A wrong password is refused at once, not after a client timeout (see NOTES).
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await aiosmtplib.send(
                _mail(),
                hostname=sink.host,
                port=sink.port,
                start_tls=True,
                tls_context=sink.client_tls_context(),
                username="helpdesk",
                password="wrong",
                timeout=5,
            )


async def test_auth_is_not_offered_before_starttls() -> None:
    with SmtpSink(starttls=True, require_auth=("helpdesk", "s3cret")) as sink:
        with pytest.raises(aiosmtplib.SMTPException, match="AUTH"):
            await aiosmtplib.send(
                _mail(),
                hostname=sink.host,
                port=sink.port,
                start_tls=False,
                username="helpdesk",
                password="s3cret",
                timeout=5,
            )
        assert sink.messages == []


async def test_implicit_tls_with_auth() -> None:
    with SmtpSink(implicit_tls=True, require_auth=("helpdesk", "s3cret")) as sink:
        await aiosmtplib.send(
            _mail(),
            hostname=sink.host,
            port=sink.port,
            use_tls=True,
            tls_context=sink.client_tls_context(),
            username="helpdesk",
            password="s3cret",
            timeout=5,
        )

        [captured] = await sink.wait_for(1)
        assert captured.auth_user == "helpdesk"


async def test_untrusted_certificate_is_refused() -> None:
    # aiosmtplib lets the ssl error through as it is during STARTTLS, unwrapped.
    with SmtpSink(starttls=True) as sink, pytest.raises(ssl.SSLCertVerificationError):
        await aiosmtplib.send(
            _mail(),
            hostname=sink.host,
            port=sink.port,
            start_tls=True,
            tls_context=ssl.create_default_context(),
            timeout=5,
        )


async def test_temporary_failure_then_cleared(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_with(451, "4.3.0 Mail server temporarily busy")

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await aiosmtplib.send(_mail(), hostname=smtp_sink.host, port=smtp_sink.port, timeout=5)
    smtp_sink.clear_failure()
    await aiosmtplib.send(_mail(), hostname=smtp_sink.host, port=smtp_sink.port, timeout=5)

    assert [error.code for error in refused.value.recipients] == [451]
    assert smtp_sink.rejected == 1
    assert len(await smtp_sink.wait_for(1)) == 1


async def test_permanent_failure_on_data(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_with(554, "5.6.0 Message rejected", on="DATA")

    with pytest.raises(aiosmtplib.SMTPDataError) as rejected:
        await aiosmtplib.send(_mail(), hostname=smtp_sink.host, port=smtp_sink.port, timeout=5)

    assert rejected.value.code == 554
    assert smtp_sink.messages == []


async def test_down_then_up_on_the_same_port(smtp_sink: SmtpSink) -> None:
    port = smtp_sink.port
    smtp_sink.stop()

    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.send(_mail(), hostname=smtp_sink.host, port=port, timeout=5)
    await asyncio.to_thread(smtp_sink.start)
    await aiosmtplib.send(_mail(), hostname=smtp_sink.host, port=port, timeout=5)

    assert smtp_sink.port == port
    assert len(await smtp_sink.wait_for(1)) == 1


async def test_stop_drops_an_open_session(smtp_sink: SmtpSink) -> None:
    client = aiosmtplib.SMTP(hostname=smtp_sink.host, port=smtp_sink.port, timeout=5)
    await client.connect()

    await asyncio.to_thread(smtp_sink.stop)

    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await client.send_message(_mail())
    assert not client.is_connected


async def test_wait_for_wakes_on_arrival_and_times_out(smtp_sink: SmtpSink) -> None:
    waiting = asyncio.create_task(smtp_sink.wait_for(2, timeout=5))
    for subject in ("satu", "dua"):
        await aiosmtplib.send(
            _mail(subject), hostname=smtp_sink.host, port=smtp_sink.port, timeout=5
        )

    received = await waiting
    assert [m.message["Subject"] for m in received] == ["satu", "dua"]
    with pytest.raises(TimeoutError, match="2 of 3"):
        await smtp_sink.wait_for(3, timeout=0.2)
