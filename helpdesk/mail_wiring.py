"""Composition of the email channel from the settings: decoder, SMTP transport, IMAP intake."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import EmailRules, HelpdeskConfig
from handlers.email_staff import notify_staff
from handlers.email_texts import email_text
from handlers.markup import shorten, to_plain
from handlers.messages import Channel, Outbound
from helpdesk.settings import Settings
from mail.decode import EmailDecoder
from mail.intake import ImapIntake, ImapOptions
from mail.transport import SmtpOptions, SmtpTransport
from storage import mail as mail_store

logger = logging.getLogger(__name__)

StatusCallback = Callable[[str, bool, str], None]


def _no_status(component: str, ok: bool, detail: str) -> None:
    """Nobody listens yet (the health monitor passes its own)."""


def email_rules(settings: Settings) -> EmailRules | None:
    """The handlers' view of the mail settings; None without an email channel."""
    if not settings.mail.address:
        return None
    return EmailRules(
        address=settings.mail.address,
        staff_addresses=tuple(settings.mail.staff_addresses),
        auto_reply_limit=settings.mail.auto_reply_limit,
        auto_reply_window=timedelta(hours=settings.mail.auto_reply_window_hours),
        sends=settings.sends_email,
    )


def email_decoders(settings: Settings) -> dict[str, EmailDecoder]:
    """The processor's decoder for stored email (present whenever a mail address is set)."""
    if not settings.mail.address:
        return {}
    decoder = EmailDecoder(
        [settings.mail.address],
        max_attachment_bytes=settings.mail.max_attachment_bytes,
        max_text_chars=settings.limits.max_text_chars,
    )
    return {Channel.EMAIL.value: decoder}


def email_transports(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    config: HelpdeskConfig,
    *,
    on_status: StatusCallback = _no_status,
) -> dict[Channel, SmtpTransport]:
    """The SMTP transport for the sender, when smtp.host is set."""
    smtp = settings.smtp
    if smtp.host is None:
        return {}

    async def thread(ticket_id: int, address: str) -> list[str]:
        async with sessions() as session:
            return await mail_store.thread_refs(session, ticket_id, address)

    async def refused(outbound: Outbound, reason: str) -> None:
        notice = email_text(
            "undeliverable",
            address=outbound.chat_id,
            reason=reason,
            text=shorten(to_plain(outbound.html), 300),
        )
        async with sessions.begin() as session:
            # Not by email: the mail server just refused one of ours.
            await notify_staff(session, config, notice, by_email=False)

    options = SmtpOptions(
        host=smtp.host,
        port=smtp.effective_port,
        sender=settings.mail.address,
        sender_name=settings.mail.display_name,
        username=smtp.username,
        password=smtp.password.get_secret_value() if smtp.password else "",
        security=smtp.security,
        timeout=smtp.timeout,
        language=settings.language,
    )
    transport = SmtpTransport(
        options, thread_lookup=thread, on_failure=refused, on_status=on_status
    )
    return {Channel.EMAIL: transport}


def email_intake(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    config: HelpdeskConfig,
    *,
    on_stored: Callable[[], None],
    on_status: StatusCallback = _no_status,
) -> ImapIntake | None:
    """IMAP intake, when imap.host is set."""
    imap = settings.imap
    if imap.host is None:
        return None

    async def alert(detail: str, recovered: bool) -> None:
        notice = (
            email_text("intake_back") if recovered else email_text("intake_down", detail=detail)
        )
        async with sessions.begin() as session:
            await notify_staff(session, config, notice)

    options = ImapOptions(
        host=imap.host,
        port=imap.effective_port,
        username=imap.username,
        password=imap.password.get_secret_value() if imap.password else "",
        security=imap.security,
        folder=imap.folder,
        idle=imap.idle,
        idle_renew=imap.idle_renew,
        poll_interval=imap.poll_interval,
        timeout=imap.timeout,
        alert_after=settings.mail.alert_after,
    )
    return ImapIntake(options, sessions, on_stored=on_stored, on_status=on_status, on_alert=alert)
