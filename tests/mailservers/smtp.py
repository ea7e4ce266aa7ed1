"""An in-process SMTP sink on 127.0.0.1 (aiosmtpd) that records what the service sends."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import email.policy
import functools
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.mailservers.dovecot import free_port

Stage = Literal["MAIL", "RCPT", "DATA"]


@dataclass(frozen=True)
class CapturedMessage:
    """One accepted message: the envelope as sent, the raw bytes and their parse."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    auth_user: str | None = None


@dataclass(frozen=True)
class SelfSignedCert:
    """A certificate for ``localhost`` and 127.0.0.1, and which tool made it."""

    cert: Path
    key: Path
    made_with: Literal["cryptography", "openssl"]

    def client_context(self) -> ssl.SSLContext:
        """A client context that verifies the server against this certificate only."""
        return ssl.create_default_context(cafile=str(self.cert))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@functools.cache
def self_signed_cert() -> SelfSignedCert:
    """Make one certificate per test process (generating a key is the slow part)."""
    folder = Path(tempfile.mkdtemp(prefix="sunari-smtp-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _write_cert_with_cryptography(cert, key)
        return SelfSignedCert(cert, key, "cryptography")
    except ImportError:
        _write_cert_with_openssl(cert, key)
        return SelfSignedCert(cert, key, "openssl")


def _write_cert_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found,unused-ignore]
    from cryptography.hazmat.primitives import hashes, serialization  # type: ignore[import-not-found,unused-ignore]
    from cryptography.hazmat.primitives.asymmetric import ec  # type: ignore[import-not-found,unused-ignore]
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found,unused-ignore]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_cert_with_openssl(cert_path: Path, key_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("neither the cryptography package nor openssl is available")

    # EC keys generate in milliseconds where RSA-2048 can take a second on a busy CI box.
    subprocess.run(
        [
            openssl, "req", "-x509", "-nodes", "-days", "2",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key_path), "-out", str(cert_path),
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


class SmtpSink:
    """aiosmtpd on 127.0.0.1 in its own thread and loop, capturing every message.

    ``stop()`` then ``start()`` reuses the port, to play a server that is down then back.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        require_auth: tuple[str, str] | None = None,
        starttls: bool = False,
        implicit_tls: bool = False,
    ) -> None:
        if starttls and implicit_tls:
            raise ValueError("choose STARTTLS (port 587 style) or implicit TLS (465), not both")

        self.host = host
        self.port = port or free_port(host)
        self.require_auth = require_auth
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.cert = self_signed_cert() if starttls or implicit_tls else None
        self._lock = threading.Lock()
        self._messages: list[CapturedMessage] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._failure: tuple[Stage, str] | None = None
        self._controller: Controller | None = None
        self.rejected = 0

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen; returns once the server answers (aiosmtpd checks with a connection)."""
        if self._controller is not None:
            return

        # A stopped Controller has closed its loop, so each start needs a new one.
        controller = self._make_controller()
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Close the listener and drop open connections; captured messages are kept."""
        if self._controller is None:
            return

        self._controller.stop()
        self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SmtpSink:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def client_tls_context(self) -> ssl.SSLContext:
        """A context for aiosmtplib that trusts this sink's self-signed certificate."""
        if self.cert is None:
            raise ValueError("this sink was started without TLS")
        return self.cert.client_context()

    # -- captured messages ----------------------------------------------------------------

    @property
    def messages(self) -> list[CapturedMessage]:
        """A snapshot of the messages accepted so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[CapturedMessage]:
        """Wait until at least ``count`` messages arrived; wakes on arrival, no polling."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            if len(self._messages) >= count:
                return list(self._messages)
            self._waiters.append(waiter)

        try:
            async with asyncio.timeout(timeout):
                while True:
                    await event.wait()
                    event.clear()
                    with self._lock:
                        if len(self._messages) >= count:
                            return list(self._messages)
        except TimeoutError:
            got = len(self.messages)
            raise TimeoutError(f"{got} of {count} messages arrived within {timeout} s") from None
        finally:
            with self._lock:
                self._waiters.remove(waiter)

    # -- failure modes --------------------------------------------------------------------

    def fail_with(
        self, code: int, message: str = "Try again later", *, on: Stage = "RCPT"
    ) -> None:
        """Answer ``on`` (MAIL, RCPT or DATA) with ``code`` until ``clear_failure()``.

        A 4xx code is a temporary refusal the sender should retry; 5xx is permanent.
        """
        if not 400 <= code <= 599:
            raise ValueError(f"{code} is not an SMTP error code")
        self._failure = (on, f"{code} {message}")

    def clear_failure(self) -> None:
        self._failure = None

    # -- called from the server thread ----------------------------------------------------

    def _refusal(self, stage: Stage) -> str | None:
        failure = self._failure
        if failure is None or failure[0] != stage:
            return None
        self.rejected += 1
        return failure[1]

    def _accept(self, captured: CapturedMessage) -> None:
        with self._lock:
            self._messages.append(captured)
            waiters = list(self._waiters)

        for loop, event in waiters:
            # RuntimeError: that test's loop already closed, so nobody waits there.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.require_auth is None:
            return AuthResult(success=False, handled=False)

        user, password = self.require_auth
        if auth_data.login.decode() == user and auth_data.password.decode() == password:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False lets aiosmtpd answer 535; handled=True would leave the client hanging.
        return AuthResult(success=False, handled=False)

    def _make_controller(self) -> Controller:
        tls = self.cert.server_context() if self.cert is not None else None
        kwargs: dict[str, Any] = {}
        if self.require_auth is not None:
            kwargs["authenticator"] = self._authenticate
            # aiosmtpd refuses AUTH on implicit TLS unless told TLS is not required (it only
            # counts STARTTLS). auth_required is enforced in handle_MAIL instead, because
            # aiosmtpd warns when it is set without auth_require_tls, and warnings are errors.
            kwargs["auth_require_tls"] = self.starttls
        if self.starttls:
            kwargs["tls_context"] = tls

        return Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ssl_context=tls if self.implicit_tls else None,
            server_hostname="sink.example.test",
            **kwargs,
        )


class _Handler:
    """aiosmtpd hooks; they run on the sink's thread and touch the sink only via methods."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self._sink.require_auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        refusal = self._sink._refusal("MAIL")
        if refusal is not None:
            return refusal

        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self._sink._refusal("RCPT")
        if refusal is not None:
            return refusal

        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self._sink._refusal("DATA")
        if refusal is not None:
            return refusal

        raw = envelope.original_content or b""
        login = session.login_data.decode() if isinstance(session.login_data, bytes) else None
        parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)  # policy.default always builds EmailMessage
        self._sink._accept(
            CapturedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                raw=raw,
                message=parsed,
                auth_user=login,
            )
        )
        return "250 OK: queued"


@pytest.fixture(name="smtp_sink")
def smtp_sink_fixture() -> Iterator[SmtpSink]:
    """A plain SMTP sink per test (no TLS, no AUTH); build others with ``SmtpSink(...)``."""
    with SmtpSink() as sink:
        yield sink
