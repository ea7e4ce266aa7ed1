"""Sending queued messages through the Bot API, translating its refusals for the sender."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.render import CAPTION_LIMIT, split_message
from handlers.delivery import PIECES_SENT, ChatMoved, Rejected, RetryLater, Unreachable
from handlers.markup import to_plain
from handlers.messages import Channel, Outbound, OutFile
from handlers.texts import text

logger = logging.getLogger(__name__)

_FORMAT_ERRORS = ("can't parse entities", "unsupported start tag", "can't find end")


class TelegramTransport:
    """Delivers `Outbound` messages on Telegram."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, outbound: Outbound) -> str | None:
        """Send, edit or answer a button press; return the id of the message sent."""
        try:
            return await self._dispatch(outbound)
        except RetryAfter as exc:
            raise RetryLater("flood control", after=_seconds(exc.retry_after)) from exc
        except ChatMigrated as exc:
            raise ChatMoved(str(exc.new_chat_id)) from exc
        except Forbidden as exc:
            raise Unreachable(exc.message) from exc
        except BadRequest as exc:
            raise Rejected(exc.message) from exc
        except NetworkError as exc:  # includes TimedOut; BadRequest was caught above
            raise RetryLater(f"network: {exc.message}") from exc

    async def _dispatch(self, outbound: Outbound) -> str | None:
        if outbound.purpose == "callback_answer":
            await self._answer_callback(outbound)
            return None
        if outbound.purpose == "edit":
            return await self._edit(outbound)
        # A message goes out in parts (a copied file, text pieces, documents); PIECES_SENT
        # counts those already out, so a retry after flood control sends only the rest.
        first = int(outbound.extra.get(PIECES_SENT, "0"))
        done_now = 0
        if "copy_message_ref" in outbound.extra:
            if first == 0:
                await self._copy(outbound)
                done_now = 1
            else:
                first -= 1
        if outbound.files:
            return await self._send_files(outbound, first, done_now)
        return await self._send(outbound, first, done_now)

    async def _copy(self, outbound: Outbound) -> None:
        """Copy the person's own message; when Telegram will not, a line says so instead.

        The copy cannot be had once its sender deleted the message or the chat forbids
        forwarding; the ticket card or answer that follows must still arrive. The line is
        a message of its own, in the copy's place, so a retry counts parts the same way.
        """
        try:
            try:
                await self.bot.copy_message(
                    chat_id=outbound.chat_id,
                    from_chat_id=outbound.extra["copy_from_chat"],
                    message_id=int(outbound.extra["copy_message_ref"]),
                    # None keeps the original caption; "" drops it (the text follows anyway).
                    caption=outbound.extra.get("copy_caption"),
                )
            except BadRequest as exc:
                logger.warning(
                    "Telegram would not copy message %s for %s (%s); said instead",
                    outbound.extra["copy_message_ref"],
                    outbound.chat_id,
                    exc.message,
                )
                gone = text("id", "file_gone", names=outbound.extra.get("copy_name", "-"))
                await self._send_piece(outbound, gone, markup=None, reply_to=None)
        except RetryAfter as exc:
            raise RetryLater("flood control", after=_seconds(exc.retry_after), done=0) from exc

    async def _send_files(self, outbound: Outbound, first: int, done_now: int) -> str:
        """Each file as a document, the text as the first one's caption when it fits.

        Text too long for a caption goes first as messages of its own. After any failure
        but flood control everything goes again, so handlers give each file a message of
        its own.
        """
        long_text = len(split_message(outbound.html, limit=CAPTION_LIMIT)) > 1
        pieces = split_message(outbound.html) if long_text else []
        caption = None if long_text else outbound.html
        last: Message | None = None
        for index in range(first, len(pieces) + len(outbound.files)):
            try:
                if index < len(pieces):
                    last = await self._send_piece(
                        outbound,
                        pieces[index],
                        markup=_keyboard(outbound) if index == len(pieces) - 1 else None,
                        reply_to=outbound.reply_to_ref if index == 0 else None,
                    )
                    continue
                file = outbound.files[index - len(pieces)]
                last = await self._send_document(
                    outbound.chat_id, file, caption if index == 0 else None
                )
            except RetryAfter as exc:
                done = done_now + index - first
                raise RetryLater(
                    "flood control", after=_seconds(exc.retry_after), done=done
                ) from exc
        assert last is not None  # only called with files
        return str(last.message_id)

    async def _send_document(self, chat_id: str, file: OutFile, caption: str | None) -> Message:
        try:
            return await self.bot.send_document(
                chat_id=chat_id,
                document=file.data,
                filename=file.name,
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
            )
        except BadRequest as exc:
            if caption is None or not _is_format_error(exc):
                raise
            logger.warning("Telegram refused a caption's formatting (%s); plain", exc.message)
            return await self.bot.send_document(
                chat_id=chat_id, document=file.data, filename=file.name, caption=to_plain(caption)
            )

    async def _send(self, outbound: Outbound, first: int, done_now: int) -> str:
        pieces = split_message(outbound.html)
        last: Message | None = None
        for index in range(first, len(pieces)):
            try:
                last = await self._send_piece(
                    outbound,
                    pieces[index],
                    markup=_keyboard(outbound) if index == len(pieces) - 1 else None,
                    reply_to=outbound.reply_to_ref if index == 0 else None,
                )
            except RetryAfter as exc:
                # Parts already out must not go again with the retry.
                done = done_now + index - first
                raise RetryLater(
                    "flood control", after=_seconds(exc.retry_after), done=done
                ) from exc
        assert last is not None  # split_message never returns an empty list
        return str(last.message_id)

    async def _send_piece(
        self,
        outbound: Outbound,
        piece: str,
        *,
        markup: InlineKeyboardMarkup | None,
        reply_to: str | None,
    ) -> Message:
        reply = (
            ReplyParameters(int(reply_to), allow_sending_without_reply=True) if reply_to else None
        )
        try:
            return await self.bot.send_message(
                chat_id=outbound.chat_id,
                text=piece,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=reply,
            )
        except BadRequest as exc:
            if not _is_format_error(exc):
                raise
            # Should not happen (every value is escaped), but a reply must never be lost.
            logger.warning(
                "Telegram refused the formatting of a message to %s (%s); sending plain text",
                outbound.chat_id,
                exc.message,
            )
            return await self.bot.send_message(
                chat_id=outbound.chat_id,
                text=to_plain(piece),
                reply_markup=markup,
                reply_parameters=reply,
            )

    async def _edit(self, outbound: Outbound) -> str | None:
        ref = outbound.extra["message_ref"]
        text = split_message(outbound.html)[0]
        try:
            await self.bot.edit_message_text(
                chat_id=outbound.chat_id,
                message_id=int(ref),
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=_keyboard(outbound),
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return ref  # the same edit twice (a double click) is not a failure
            if not _is_format_error(exc):
                raise
            logger.warning(
                "Telegram refused the formatting of an edit (%s); plain text", exc.message
            )
            await self.bot.edit_message_text(
                chat_id=outbound.chat_id,
                message_id=int(ref),
                text=to_plain(text),
                reply_markup=_keyboard(outbound),
            )
        return ref

    async def _answer_callback(self, outbound: Outbound) -> None:
        text = to_plain(outbound.html)[:200] or None
        try:
            await self.bot.answer_callback_query(outbound.extra["callback_id"], text=text)
        except BadRequest as exc:
            # An old button press (the query expired) has nothing left to answer.
            logger.debug("callback answer refused: %s", exc.message)


def _keyboard(outbound: Outbound) -> InlineKeyboardMarkup | None:
    if not outbound.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in outbound.buttons
        ]
    )


def _is_format_error(exc: BadRequest) -> bool:
    return any(marker in exc.message.lower() for marker in _FORMAT_ERRORS)


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
