"""Which loader fetches a forwarded file, by the channel its ref names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.files import PREFIX as TELEGRAM_PREFIX
from bot.files import TelegramFiles
from handlers.stored_files import FileLoader, by_prefix
from helpdesk.settings import Settings
from mail.attachments import PREFIX as EMAIL_PREFIX
from mail.attachments import StoredAttachments


def file_loader(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bot: Bot
) -> FileLoader:
    """Telegram files always; email attachments when there is an email intake."""
    loaders: dict[str, FileLoader] = {TELEGRAM_PREFIX: TelegramFiles(bot)}
    if settings.imap.host:
        loaders[EMAIL_PREFIX] = StoredAttachments(sessions)
    return by_prefix(loaders)
