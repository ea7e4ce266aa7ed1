"""Bot API methods of the fake server, each checked the way Telegram checks it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import NOT_MODIFIED, ApiError, bad_request
from .formatting import ParseError, parse_text, utf16_len
from .state import BotState, Json, Params, Rows, SentMessage, StoredFile

Method = Callable[[BotState, Params], Awaitable[Any]]
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass
class Upload:
    """A file part of a multipart request."""

    file_name: str
    data: bytes
    mime_type: str


def flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def integer(params: Params, name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


# -- text, markup and replies ------------------------------------------------------------


def parsed(params: Params, key: str, limit: int, too_long: str) -> tuple[str, list[Json]]:
    """Plain text and entities of text or caption; the errors Telegram gives for bad ones."""
    raw = params.get(key) or ""
    try:
        plain, entities = parse_text(raw, params.get("parse_mode"), params.get(f"{key}_entities"))
    except ParseError as error:
        raise bad_request(f"can't parse entities: {error}") from None
    if key == "text" and not plain:
        raise bad_request("message text is empty")
    if utf16_len(plain) > limit:
        raise bad_request(too_long)
    return plain, entities


def text_of(params: Params) -> tuple[str, list[Json]]:
    # sendMessage names its entities "entities", not "text_entities".
    params.setdefault("text_entities", params.get("entities"))
    return parsed(params, "text", TEXT_LIMIT, "message is too long")


def caption_of(params: Params) -> tuple[str, list[Json]]:
    return parsed(params, "caption", CAPTION_LIMIT, "message caption is too long")


def markup_of(params: Params) -> tuple[Json | None, Rows | None]:
    """The reply_markup to show on the message (inline only) and its rows of buttons."""
    markup = params.get("reply_markup")
    if not markup:
        return None, None
    if "inline_keyboard" in markup:
        rows: Rows = markup["inline_keyboard"]
        for button in (button for row in rows for button in row):
            check_button(button)
        return {"inline_keyboard": rows}, rows
    return None, markup.get("keyboard")


def check_button(button: Json) -> None:
    if not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")


def reply_target(api: BotState, chat: Json, params: Params) -> Json | None:
    """The message being answered, from reply_parameters or reply_to_message_id."""
    reply = params.get("reply_parameters") or {}
    message_id = reply.get("message_id", params.get("reply_to_message_id"))
    if message_id is None:
        return None
    found = api.messages.get((chat["id"], int(message_id)))
    lenient = flag(
        reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
    )
    if found is None and not lenient:
        raise bad_request("message to be replied not found")
    return found


def new_message(api: BotState, chat: Json, content: Json, params: Params) -> SentMessage:
    """Build, store and record a message from the bot."""
    markup, rows = markup_of(params)
    reply = reply_target(api, chat, params)
    message: Json = {
        "message_id": api.next_message_id(chat["id"]),
        "from": api.bot,
        "chat": chat,
        "date": api.now(),
        **{key: value for key, value in content.items() if value},
    }
    if markup:
        message["reply_markup"] = markup
    if reply:
        message["reply_to_message"] = {k: v for k, v in reply.items() if k != "reply_to_message"}
    api.store_message(message)
    return recorded(api, params, message, rows)


def recorded(api: BotState, params: Params, message: Json, rows: Rows | None) -> SentMessage:
    is_text = "text" in message
    entry = SentMessage(
        method=params["_method"],
        chat_id=message["chat"]["id"],
        message_id=message["message_id"],
        text=message.get("text" if is_text else "caption", ""),
        raw_text=params.get("text" if is_text else "caption") or "",
        parse_mode=params.get("parse_mode"),
        reply_markup=rows,
        reply_to_message_id=message.get("reply_to_message", {}).get("message_id"),
        date=message["date"],
        entities=message.get("entities" if is_text else "caption_entities", []),
        message=message,
        at=api.monotonic(),
    )
    api.record(entry, edit=params["_method"].startswith("edit"))
    return entry


def target_chat(api: BotState, params: Params) -> Json:
    chat = api.chat_for(params.get("chat_id"))
    api.check_reachable(chat)
    return chat


# -- sending ---------------------------------------------------------------------------


async def send_message(api: BotState, params: Params) -> Json:
    chat = target_chat(api, params)
    text, entities = text_of(params)
    return new_message(api, chat, {"text": text, "entities": entities}, params).message


async def copy_message(api: BotState, params: Params) -> Json:
    """Copy a message the server knows into another chat; Telegram answers with its new id."""
    chat = target_chat(api, params)
    source = api.message_in(
        api.chat_for(params.get("from_chat_id")),
        params.get("message_id"),
        "message to copy not found",
    )
    content = {
        k: v
        for k, v in source.items()
        if k not in ("message_id", "from", "chat", "date", "reply_to_message")
    }
    if "caption" in params:  # a new caption replaces the old one; an empty one removes it
        content.pop("caption_entities", None)
        content["caption"] = params["caption"]
        if not params["caption"]:
            del content["caption"]
    copy = new_message(api, chat, content, params)
    return {"message_id": copy.message_id}


def file_of(api: BotState, params: Params, key: str, mime_type: str) -> StoredFile:
    """The file a send uses: an upload, an attach:// part, a known file_id or a URL."""
    value = params.get(key)
    if isinstance(value, str) and value.startswith("attach://"):
        value = params.get(value[len("attach://") :])
    if isinstance(value, Upload):
        return api.add_file(value.data, file_name=value.file_name, mime_type=value.mime_type)
    if isinstance(value, str) and value in api.files:
        return api.files[value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return api.add_file(b"downloaded " + value.encode(), mime_type=mime_type)
    raise bad_request("wrong file identifier/HTTP URL specified")


async def send_document(api: BotState, params: Params) -> Json:
    chat = target_chat(api, params)
    caption, entities = caption_of(params)
    stored = file_of(api, params, "document", "application/octet-stream")
    document = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": stored.file_name,
        "mime_type": stored.mime_type,
        "file_size": len(stored.data),
    }
    content = {"document": document, "caption": caption, "caption_entities": entities}
    return new_message(api, chat, content, params).message


async def send_photo(api: BotState, params: Params) -> Json:
    chat = target_chat(api, params)
    caption, entities = caption_of(params)
    stored = file_of(api, params, "photo", "image/jpeg")
    sizes = [
        {"file_id": f"{stored.file_id}s", "file_unique_id": f"{stored.file_unique_id}s",
         "width": 90, "height": 60, "file_size": min(len(stored.data), 1000)},
        {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
         "width": 1280, "height": 853, "file_size": len(stored.data)},
    ]  # fmt: skip
    api.add_file(stored.data[:1000], mime_type="image/jpeg", file_id=f"{stored.file_id}s")
    content = {"photo": sizes, "caption": caption, "caption_entities": entities}
    return new_message(api, chat, content, params).message


async def send_chat_action(api: BotState, params: Params) -> bool:
    target_chat(api, params)
    if not params.get("action"):
        raise bad_request("wrong parameter action in request")
    api.actions.append(params)
    return True


# -- editing and deleting ------------------------------------------------------------------


def own_message(api: BotState, params: Params) -> Json:
    if params.get("inline_message_id"):
        raise bad_request("inline messages are not supported by the fake Bot API")
    chat = target_chat(api, params)
    message = api.message_in(chat, params.get("message_id"), "message to edit not found")
    if message["from"]["id"] != api.bot["id"]:
        raise bad_request("message can't be edited")
    return message


def edited(api: BotState, params: Params, old: Json, changes: Json) -> Json:
    """Apply an edit unless it changes nothing; Telegram drops the keyboard unless resent."""
    markup, rows = markup_of(params)
    new = {key: value for key, value in old.items() if key not in changes}
    new.update({key: value for key, value in changes.items() if value})
    new.pop("reply_markup", None)
    if markup:
        new["reply_markup"] = markup
    if {**new, "edit_date": 0} == {**old, "edit_date": 0}:
        raise bad_request(NOT_MODIFIED)
    new["edit_date"] = api.now()
    api.store_message(new)
    return recorded(api, params, new, rows).message


async def edit_message_text(api: BotState, params: Params) -> Json:
    old = own_message(api, params)
    if "text" not in old:
        raise bad_request("there is no text in the message to edit")
    text, entities = text_of(params)
    return edited(api, params, old, {"text": text, "entities": entities})


async def edit_message_caption(api: BotState, params: Params) -> Json:
    old = own_message(api, params)
    if "text" in old:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = caption_of(params)
    return edited(api, params, old, {"caption": caption, "caption_entities": entities})


async def edit_message_reply_markup(api: BotState, params: Params) -> Json:
    return edited(api, params, own_message(api, params), {})


async def delete_message(api: BotState, params: Params) -> bool:
    chat = api.chat_for(params.get("chat_id"))
    message = api.message_in(chat, params.get("message_id"), "message to delete not found")
    del api.messages[(chat["id"], message["message_id"])]
    api.deleted.append((chat["id"], message["message_id"]))
    return True


async def answer_callback_query(api: BotState, params: Params) -> bool:
    query_id = str(params.get("callback_query_id"))
    if api.queries.pop(query_id, None) is None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    api.answers.append(params)
    return True


# -- reading -------------------------------------------------------------------------------


async def get_me(api: BotState, params: Params) -> Json:
    return {
        **api.bot,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_updates(api: BotState, params: Params) -> list[Json]:
    if api.webhook.get("url"):
        raise ApiError(409, WEBHOOK_CONFLICT)
    limit = min(max(integer(params, "limit", 100), 1), 100)
    timeout = max(integer(params, "timeout", 0), 0)
    allowed = params.get("allowed_updates")
    return await api.updates.poll(integer(params, "offset", 0), limit, timeout, allowed)


def file_path(stored: StoredFile) -> str:
    suffix = "." + stored.file_name.rsplit(".", 1)[-1] if "." in stored.file_name else ""
    return f"documents/{stored.file_unique_id}{suffix}"


async def get_file(api: BotState, params: Params) -> Json:
    stored = api.files.get(str(params.get("file_id")))
    if stored is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": file_path(stored),
    }


async def get_chat(api: BotState, params: Params) -> Json:
    chat = api.chat_for(params.get("chat_id"))
    gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
    return {
        **chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {**dict.fromkeys(gifts, False), "gifts_from_channels": False},
    }


async def get_chat_member(api: BotState, params: Params) -> Json:
    api.chat_for(params.get("chat_id"))
    user_id = integer(params, "user_id", 0)
    user = api.bot if user_id == api.bot["id"] else api.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    return {"status": "member", "user": user}


# -- webhooks, commands, session -----------------------------------------------------------


async def set_webhook(api: BotState, params: Params) -> bool:
    api.webhook = {key: value for key, value in params.items() if not key.startswith("_")}
    return True


async def delete_webhook(api: BotState, params: Params) -> bool:
    api.webhook = {}
    if flag(params.get("drop_pending_updates")):
        api.updates.confirm(api.updates.last_id + 1)
    return True


async def get_webhook_info(api: BotState, params: Params) -> Json:
    return {
        "url": api.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(api.updates),
    }


async def set_my_commands(api: BotState, params: Params) -> bool:
    api.commands = list(params.get("commands") or [])
    return True


async def get_my_commands(api: BotState, params: Params) -> list[Json]:
    return api.commands


async def delete_my_commands(api: BotState, params: Params) -> bool:
    api.commands = []
    return True


async def accepted(api: BotState, params: Params) -> bool:
    return True


METHODS: dict[str, tuple[str, Method]] = {
    name.lower(): (name, method)
    for name, method in {
        "getMe": get_me,
        "getUpdates": get_updates,
        "setWebhook": set_webhook,
        "deleteWebhook": delete_webhook,
        "getWebhookInfo": get_webhook_info,
        "logOut": accepted,
        "close": accepted,
        "sendMessage": send_message,
        "copyMessage": copy_message,
        "sendDocument": send_document,
        "sendPhoto": send_photo,
        "sendChatAction": send_chat_action,
        "editMessageText": edit_message_text,
        "editMessageCaption": edit_message_caption,
        "editMessageReplyMarkup": edit_message_reply_markup,
        "deleteMessage": delete_message,
        "answerCallbackQuery": answer_callback_query,
        "getFile": get_file,
        "getChat": get_chat,
        "getChatMember": get_chat_member,
        "setMyCommands": set_my_commands,
        "getMyCommands": get_my_commands,
        "deleteMyCommands": delete_my_commands,
    }.items()
}
"""Lower-case method name -> (Telegram's spelling, implementation); Telegram ignores case."""
