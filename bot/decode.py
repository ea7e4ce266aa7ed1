"""Turning a stored Bot API update (plain JSON) into the helpdesk's `Inbound`."""

from __future__ import annotations

import logging
import re
from typing import Any

from handlers.intake import UnreadableInput
from handlers.messages import Attachment, Channel, Inbound, Sender

logger = logging.getLogger(__name__)

FILE_KINDS = ("document", "voice", "video", "audio", "video_note", "animation", "sticker")
PRIVATE = "private"
ID = re.compile(r"-?\d{1,16}")
NAME_CHARS = 128


def decode_update(update: dict[str, Any], *, bot_username: str) -> Inbound | None:
    """The update as an `Inbound`, or None when it needs no answer (channel posts, ...).

    Raises UnreadableInput when the update lacks what every update of its kind has.
    """
    if not isinstance(update, dict):
        raise UnreadableInput("update is not a JSON object")
    update = _clean(update)
    if isinstance(update.get("callback_query"), dict):
        return _callback(update["callback_query"])
    if isinstance(update.get("my_chat_member"), dict):
        return _membership(update["my_chat_member"])
    for key, is_edit in (("message", False), ("edited_message", True)):
        if isinstance(update.get(key), dict):
            return _message(update[key], is_edit=is_edit, bot_username=bot_username)
    logger.debug(
        "update %s of kind %s ignored",
        update.get("update_id"),
        next((k for k in update if k != "update_id"), "unknown"),
    )
    return None


def _clean(value: Any) -> Any:
    """The update with every string storable: NUL dropped, lone surrogates replaced.

    JSON may carry both (`\\u0000`, `\\ud800`); PostgreSQL refuses NUL in text and no
    database takes a lone surrogate, so such a message would fail at every attempt.
    """
    if isinstance(value, str):
        if value.isascii():
            return value.replace("\x00", "")
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if isinstance(value, dict):
        return {str(_clean(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _int(value: Any) -> int:
    """A number field read leniently: anything that is not one counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return int(value)
    except (ValueError, OverflowError):
        return 0


def _sender(data: Any) -> Sender:
    if not isinstance(data, dict) or "id" not in data:
        raise UnreadableInput("update has no sender")
    name = " ".join(str(data.get(k) or "") for k in ("first_name", "last_name")).strip()
    external_id = _telegram_id(data["id"], "sender")
    return Sender(
        external_id=external_id,
        display_name=(name or str(data.get("username") or external_id))[:NAME_CHARS],
        language=data.get("language_code") if isinstance(data.get("language_code"), str) else None,
    )


def _telegram_id(value: Any, what: str) -> str:
    # Telegram ids are integers of at most 52 bits; anything else is not from Telegram.
    text = str(value)
    if isinstance(value, bool) or not ID.fullmatch(text):
        raise UnreadableInput(f"{what} id {text[:40]!r} is not a Telegram id")
    return text


def _chat(message: dict[str, Any]) -> tuple[str, bool]:
    chat = message.get("chat")
    if not isinstance(chat, dict) or "id" not in chat:
        raise UnreadableInput("message has no chat")
    return _telegram_id(chat["id"], "chat"), chat.get("type") != PRIVATE


def _message(message: dict[str, Any], *, is_edit: bool, bot_username: str) -> Inbound | None:
    author = message.get("from")
    if isinstance(author, dict) and author.get("is_bot"):
        return None  # our own or another bot's messages never need an answer
    chat_id, is_group = _chat(message)
    text, entities_key = message.get("text"), "entities"
    if not isinstance(text, str):
        text, entities_key = message.get("caption"), "caption_entities"
    if not isinstance(text, str):
        text = ""

    command, args, mentioned, ours = _command(text, message.get(entities_key), bot_username)
    if not ours:
        logger.debug("command for another bot in %s ignored", chat_id)
        return None
    reply_to = message.get("reply_to_message")
    return Inbound(
        channel=Channel.TELEGRAM,
        sender=_sender(message.get("from")),
        chat_id=chat_id,
        text=text if command is None else args,
        command=command,
        args=args,
        message_ref=str(message.get("message_id", "")) or None,
        reply_to_ref=str(reply_to["message_id"])
        if isinstance(reply_to, dict) and "message_id" in reply_to
        else None,
        reply_to_text=_our_text(reply_to, bot_username),
        is_group=is_group,
        mentioned=mentioned,
        is_edit=is_edit,
        attachments=_attachments(message),
        note=_note(message),
    )


def _our_text(quoted: Any, bot_username: str) -> str | None:
    if not isinstance(quoted, dict) or not isinstance(quoted.get("from"), dict):
        return None
    if str(quoted["from"].get("username", "")).lower() != bot_username.lower():
        return None
    text = quoted.get("text")
    return text if isinstance(text, str) else None


def _command(text: str, entities: Any, bot_username: str) -> tuple[str | None, str, bool, bool]:
    """(command, args, addressed to us by name, meant for us) of a message's text."""
    if not text.startswith("/") or not isinstance(entities, list):
        return None, text, False, True
    first = next(
        (
            e
            for e in entities
            if isinstance(e, dict) and e.get("offset") == 0 and e.get("type") == "bot_command"
        ),
        None,
    )
    if first is None:
        return None, text, False, True
    # Offsets are in UTF-16 code units; a command is ASCII, so they match Python indices.
    word = text[: _int(first.get("length"))]
    name, _, target = word[1:].partition("@")
    if target and target.lower() != bot_username.lower():
        return None, "", False, False
    return name.lower(), text[len(word) :].strip(), bool(target), True


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    photos = message.get("photo")
    if isinstance(photos, list) and photos:
        sizes = [p for p in photos if isinstance(p, dict) and "file_id" in p]
        if sizes:
            largest = max(sizes, key=lambda p: _int(p.get("width")) * _int(p.get("height")))
            return (
                Attachment(
                    kind="photo", ref=str(largest["file_id"]), size=largest.get("file_size")
                ),
            )
    for kind in FILE_KINDS:
        item = message.get(kind)
        if isinstance(item, dict) and "file_id" in item:
            return (
                Attachment(
                    kind=kind,
                    ref=str(item["file_id"]),
                    name=item.get("file_name"),
                    mime_type=item.get("mime_type"),
                    size=item.get("file_size"),
                ),
            )
    return ()


def _note(message: dict[str, Any]) -> str | None:
    # The phone number of a shared contact is never copied: staff do not need it.
    for kind in ("contact", "location", "venue", "poll", "dice", "game"):
        if kind in message:
            return "location" if kind == "venue" else kind
    return None


def _callback(query: dict[str, Any]) -> Inbound | None:
    message = query.get("message")
    data = query.get("data")
    if not isinstance(message, dict) or not isinstance(data, str):
        logger.debug("callback query without message or data ignored")
        return None
    chat_id, is_group = _chat(message)
    return Inbound(
        channel=Channel.TELEGRAM,
        sender=_sender(query.get("from")),
        chat_id=chat_id,
        callback=data,
        callback_ref=str(query.get("id", "")),
        callback_label=_button_label(message, data),
        message_ref=str(message.get("message_id", "")) or None,
        is_group=is_group,
    )


def _button_label(message: dict[str, Any], data: str) -> str | None:
    """The text of the button pressed, read from the message it was on (for the report)."""
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data:
                label = button.get("text")
                return label if isinstance(label, str) else None
    return None


def _membership(change: dict[str, Any]) -> Inbound | None:
    chat = change.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != PRIVATE:
        return None  # joining or leaving groups needs no answer
    member = change.get("new_chat_member")
    status = member.get("status") if isinstance(member, dict) else None
    event = {"kicked": "blocked", "member": "unblocked"}.get(str(status))
    if event is None:
        return None
    return Inbound(
        channel=Channel.TELEGRAM,
        sender=_sender(change.get("from")),
        chat_id=_telegram_id(chat.get("id"), "chat"),
        event=event,
    )
