"""Sending outbox messages by SMTP (aiosmtplib): the email channel's `Transport`."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from handlers.delivery import Rejected, RetryLater, Unreachable
from handlers.messages import Channel, Outbound
from mail.compose import BadRecipient, compose

logger = logging.getLogger(__name__)

StatusCallback = Callable[[str, bool, str], None]
ThreadLookup = Callable[[int, str], Awaitable[list[str]]]
FailureReport = Callable[[Outbound, str], Awaitable[None]]

# Purposes that make sense on Telegram only (editing a card, answering a button press).
_NOT_FOR_EMAIL = frozenset({"edit", "callback_answer"})


def _no_status(component: str, ok: bool, detail: str) -> None:
    """The default status callback: nobody listens."""


@dataclass(frozen=True)
class SmtpOptions:
    """Where and how to send."""

    host: str
    port: int
    sender: str  # our own address (From, and the domain of our Message-IDs)
    sender_name: str = "Helpdesk E-learning UNR"
    username: str = ""
    password: str = ""
    security: str = "starttls"  # ssl, starttls, none
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = None
    language: str = "id"
    retry_min: float = 5.0  # while the server is away: first wait, doubled up to retry_max
    retry_max: float = 300.0


class SmtpTransport:
    """Delivers `Outbound(channel=EMAIL)`; returns our Message-ID so replies find the ticket.

    A server that does not answer is waited for with backoff as long as it takes (the
    outbox keeps every message); a 4xx answer is retried a few times; a 5xx answer is
    final and reported to staff through `on_failure`.
    """

    channel = Channel.EMAIL

    def __init__(
        self,
        options: SmtpOptions,
        *,
        thread_lookup: ThreadLookup | None = None,
        on_failure: FailureReport | None = None,
        on_status: StatusCallback = _no_status,
    ) -> None:
        self.options = options
        self.thread_lookup = thread_lookup
        self.on_failure = on_failure
        self.on_status = on_status
        self._away = 0  # connection failures in a row
        self._closing: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def deliver(self, outbound: Outbound) -> str | None:
        """Send one message; RetryLater, Unreachable or Rejected when it cannot go now."""
        if outbound.purpose in _NOT_FOR_EMAIL:
            return None
        try:
            composed = compose(
                outbound,
                sender=self.options.sender,
                sender_name=self.options.sender_name,
                references=await self._references(outbound),
                language=self.options.language,
            )
        except BadRecipient as exc:
            await self._report(outbound, str(exc))
            raise Rejected(str(exc)) from exc
        await self._send_mapped(outbound, composed.message)
        self.sent += 1
        return composed.message_id

    async def close(self) -> None:
        """Wait for the QUITs still under way (at shutdown, so no socket is left open)."""
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=self.options.timeout)

    async def _references(self, outbound: Outbound) -> tuple[str, ...]:
        given = tuple(outbound.extra.get("references", "").split())
        if given or outbound.reply_to_ref or outbound.ticket_id is None:
            return given
        if self.thread_lookup is None:
            return ()
        # A staff answer has no email to reply to: it continues the ticket's thread.
        return tuple(await self.thread_lookup(outbound.ticket_id, outbound.chat_id))

    async def _send(self, message: EmailMessage) -> None:
        options = self.options
        client = aiosmtplib.SMTP(
            hostname=options.host,
            port=options.port,
            username=options.username or None,
            password=options.password or None,
            use_tls=options.security == "ssl",
            # False, not None: aiosmtplib would otherwise upgrade only when offered, and
            # send the password in clear text to a server that does not offer it (C31).
            start_tls=options.security == "starttls",
            tls_context=options.tls_context,
            timeout=options.timeout,
        )
        try:
            await client.connect()
            await client.send_message(message)
        except BaseException:
            client.close()
            raise
        finally:
            self._after_send(client)

    async def _send_mapped(self, outbound: Outbound, message: EmailMessage) -> None:
        """`_send`, with each failure turned into what the outbox sender understands."""
        options = self.options
        try:
            await self._send(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._refused(outbound, exc)
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            self._server_away(exc)
        except aiosmtplib.SMTPTimeoutError as exc:
            self._server_away(exc)
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Wrong credentials fail every message alike: wait for the set-up to be fixed.
            self._server_away(exc)
        except aiosmtplib.SMTPResponseException as exc:
            await self._refusal(outbound, exc.code, exc.message)
        except aiosmtplib.SMTPException as exc:  # e.g. STARTTLS not offered: a set-up fault
            self.on_status("smtp", False, f"{type(exc).__name__}: {exc}")
            logger.warning("SMTP to %s:%s failed: %s", options.host, options.port, exc)
            raise RetryLater(f"SMTP: {exc}") from exc
        else:
            if self._away:
                logger.info("SMTP server %s is answering again", options.host)
            self._away = 0
            self.on_status("smtp", True, "sent")

    def _after_send(self, client: aiosmtplib.SMTP) -> None:
        """QUIT without waiting: the message counts as sent once DATA is accepted.

        Waiting for QUIT's answer before returning would widen the window in which a kill
        leaves a message the server took but the journal does not name (sent again later).
        """
        if not client.is_connected:
            return
        task = asyncio.create_task(self._quit(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        try:
            await asyncio.wait_for(client.quit(), timeout=self.options.timeout)
        except Exception:  # the message is delivered; a lost QUIT changes nothing
            client.close()

    def _server_away(self, exc: Exception) -> None:
        self._away += 1
        delay = min(self.options.retry_max, self.options.retry_min * 2 ** (self._away - 1))
        delay *= random.uniform(0.7, 1.0)  # jitter: a restarted server is not hit all at once
        detail = f"{type(exc).__name__}: {exc}"
        self.on_status("smtp", False, detail)
        log = logger.warning if self._away in (1, 10) or self._away % 50 == 0 else logger.debug
        log("SMTP server %s unreachable (%s in a row): %s", self.options.host, self._away, detail)
        raise RetryLater(f"SMTP server unreachable: {detail}", after=delay) from exc

    async def _refused(self, outbound: Outbound, exc: aiosmtplib.SMTPRecipientsRefused) -> None:
        refusal = exc.recipients[0] if exc.recipients else None
        code = refusal.code if refusal is not None else 550
        reason = refusal.message if refusal is not None else str(exc)
        self.on_status("smtp", True, "server answering")
        if code < 500:
            raise RetryLater(f"recipient deferred: {code} {reason}") from exc
        await self._report(outbound, f"{code} {reason}")
        raise Unreachable(f"recipient refused: {code} {reason}") from exc

    async def _refusal(self, outbound: Outbound, code: int, reason: str) -> None:
        self.on_status("smtp", code < 500, f"{code} {reason}")
        if code < 500:
            raise RetryLater(f"SMTP {code} {reason}")
        await self._report(outbound, f"{code} {reason}")
        raise Rejected(f"SMTP {code} {reason}")

    async def _report(self, outbound: Outbound, reason: str) -> None:
        logger.warning("email to %s refused for good: %s", outbound.chat_id, reason)
        if self.on_failure is not None:
            await self.on_failure(outbound, reason)
