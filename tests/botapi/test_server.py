"""The fake Bot API as the real python-telegram-bot client sees it."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.botapi import FakeBotApi

TOKEN = "123456789:TEST-token-for-fake-api"
USER_ID = 100000001
GROUP_ID = -1001000000001
CASES = Path(__file__).resolve().parents[3] / "shared" / "cases" / "telegram"


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB warns about retry_after turning into a timedelta unless this opts in.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN, username="unr_helpdesk_bot") as server:
        server.user(USER_ID, "Ayu", username="ayu_student")
        server.group(GROUP_ID, "Helpdesk agents")
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


def case(name: str) -> list[dict[str, Any]]:
    path = CASES / name
    if not path.exists():
        pytest.skip(f"shared cases not found at {CASES}")
    loaded: list[dict[str, Any]] = json.loads(path.read_text())
    return loaded


# -- identity and routing ------------------------------------------------------------------


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "unr_helpdesk_bot"
    assert me.can_join_groups


async def test_another_token_is_unauthorized(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:other", base_url=api.base_url):
            pass


async def test_unknown_method_is_not_found(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")


async def test_calls_are_logged_in_order(api: FakeBotApi, bot: Bot) -> None:
    await bot.delete_webhook()
    await bot.send_message(USER_ID, "halo")

    assert [call.method for call in api.calls] == ["getMe", "deleteWebhook", "sendMessage"]
    assert api.calls[-1].params["text"] == "halo"


# -- updates ----------------------------------------------------------------------------


async def test_offset_confirms_updates(api: FakeBotApi, bot: Bot) -> None:
    for text in ("satu", "dua", "tiga"):
        await api.send_text(USER_ID, text)

    first = await bot.get_updates(offset=0)
    again = await bot.get_updates(offset=0)
    after = await bot.get_updates(offset=first[-1].update_id + 1)

    assert [u.message.text for u in first if u.message] == ["satu", "dua", "tiga"]
    assert len(again) == 3
    assert after == ()
    assert api.pending_updates == 0


async def test_negative_offset_keeps_only_the_last(api: FakeBotApi, bot: Bot) -> None:
    for text in ("satu", "dua", "tiga"):
        await api.send_text(USER_ID, text)

    last = await bot.get_updates(offset=-1)
    remaining = await bot.get_updates(offset=0)

    assert [u.message.text for u in last if u.message] == ["tiga"]
    assert [u.update_id for u in remaining] == [last[0].update_id]


async def test_limit_and_allowed_updates(api: FakeBotApi, bot: Bot) -> None:
    await api.send_text(USER_ID, "satu")
    sent = await bot.send_message(USER_ID, "Pilih", reply_markup=keyboard("ok"))
    await api.press(USER_ID, sent.message_id, "ok")
    await api.send_text(USER_ID, "dua")

    limited = await bot.get_updates(limit=1)
    callbacks = await bot.get_updates(allowed_updates=["callback_query"])

    assert len(limited) == 1
    assert [u.callback_query.data for u in callbacks if u.callback_query] == ["ok"]


async def test_long_poll_returns_when_an_update_arrives(api: FakeBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await api.send_text(USER_ID, "ada orang?")

    updates = await asyncio.wait_for(poll, 5)

    assert time.monotonic() - started < 1
    assert updates[0].message is not None
    assert updates[0].message.text == "ada orang?"


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()

    updates = await bot.get_updates(timeout=1)

    assert updates == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_second_poller_ends_the_first_with_conflict(api: FakeBotApi, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)

    async with Bot(TOKEN, base_url=api.base_url) as second:
        await second.get_updates(timeout=0)

    with pytest.raises(Conflict):
        await first


async def test_commands_get_bot_command_entities(api: FakeBotApi, bot: Bot) -> None:
    await api.send_text(USER_ID, "/new@unr_helpdesk_bot printer rusak", chat=GROUP_ID)

    (update,) = await bot.get_updates()

    assert update.message is not None
    assert update.effective_chat is not None and update.effective_chat.id == GROUP_ID
    assert list(update.message.parse_entities(["bot_command"]).values()) == [
        "/new@unr_helpdesk_bot"
    ]


@pytest.mark.parametrize("name", ["C01_channel_post.json", "C03_non_text.json",
                                  "C05_commands_in_group.json", "C10_blocked.json"])  # fmt: skip
async def test_case_files_reach_ptb(api: FakeBotApi, bot: Bot, name: str) -> None:
    raw = [item for item in case(name) if "update_id" in item]
    for item in raw:
        await api.send_update(item)

    updates = await bot.get_updates()

    assert [u.update_id for u in updates] == [item["update_id"] for item in raw]
    assert all(isinstance(u, Update) for u in updates)
    assert Update.de_json(raw[0], bot) == updates[0]


async def test_case_chats_become_known(api: FakeBotApi, bot: Bot) -> None:
    for item in case("C03_non_text.json"):
        await api.send_update(item)
    (_, photo, *_) = await bot.get_updates()
    assert photo.message is not None

    await bot.send_message(100000002, "Foto diterima")
    largest = await photo.message.photo[-1].get_file()

    assert await largest.download_as_bytearray()
    assert api.messages_to(100000002)[0].text == "Foto diterima"


# -- sending and editing -------------------------------------------------------------------


async def test_html_message_with_keyboard_press_answer_edit(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(
        USER_ID, "<b>Tiket #7</b>: 5 &lt; 6", parse_mode=ParseMode.HTML,
        reply_markup=keyboard("take", "close"),
    )  # fmt: skip
    record = api.sent[-1]
    assert (record.text, record.raw_text, record.parse_mode) == (
        "Tiket #7: 5 < 6", "<b>Tiket #7</b>: 5 &lt; 6", "HTML",
    )  # fmt: skip
    assert [b["callback_data"] for b in record.buttons] == ["take", "close"]
    assert sent.entities[0].type == "bold"

    await api.press(USER_ID, record, "take")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert await update.callback_query.answer("Diambil")
    edited = await bot.edit_message_text("Diambil", USER_ID, sent.message_id)

    assert api.answers[0]["text"] == "Diambil"
    assert api.edits[-1].text == "Diambil"
    assert not isinstance(edited, bool) and edited.reply_markup is None  # keyboard not resent
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Diambil", USER_ID, sent.message_id)


async def test_edit_reply_markup_and_delete(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "Tiket", reply_markup=keyboard("a"))

    await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=keyboard("b"))
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=keyboard("b"))
    assert await bot.delete_message(USER_ID, sent.message_id)

    assert api.edits[-1].buttons[0]["callback_data"] == "b"
    assert api.deleted == [(USER_ID, sent.message_id)]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)


async def test_answering_an_unknown_query_fails(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query("12345")


async def test_document_upload_and_download(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_document(
        USER_ID, b"isi laporan", filename="laporan.txt", caption="<i>Laporan</i>",
        parse_mode=ParseMode.HTML,
    )  # fmt: skip
    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    again = await bot.send_photo(USER_ID, sent.document.file_id)

    assert await file.download_as_bytearray() == b"isi laporan"
    assert api.sent[0].text == "Laporan"
    assert again.photo[-1].file_id == sent.document.file_id


async def test_wait_for_messages_wakes_on_send(api: FakeBotApi, bot: Bot) -> None:
    waiting = asyncio.create_task(api.wait_for_messages(USER_ID, 2, timeout=5))
    await bot.send_message(USER_ID, "satu")
    await bot.send_message(USER_ID, "dua")

    messages = await waiting

    assert [m.text for m in messages] == ["satu", "dua"]
    with pytest.raises(TimeoutError):
        await api.wait_for(lambda: len(api.sent) > 2, timeout=0.1)


async def test_chat_action_get_chat_and_member(api: FakeBotApi, bot: Bot) -> None:
    assert await bot.send_chat_action(USER_ID, "typing")
    chat = await bot.get_chat(GROUP_ID)
    member = await bot.get_chat_member(GROUP_ID, USER_ID)

    assert chat.title == "Helpdesk agents"
    assert member.user.id == USER_ID


# -- what Telegram refuses --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "error"),
    [
        ("😀" * 2049, None, "message is too long"),
        ("<b>" + "a" * 4097 + "</b>", ParseMode.HTML, "message is too long"),
        ("  \n ", None, "message text is empty"),
        ("<b></b>", ParseMode.HTML, "message text is empty"),
        ("<b>Tiket</b>: 5 < 6", ParseMode.HTML, "can't parse entities"),
        ("A & B", ParseMode.HTML, "can't parse entities"),
        ("&nbsp;", ParseMode.HTML, "can't parse entities"),
        ("<b>tebal", ParseMode.HTML, "can't parse entities"),
        ("<b><i>x</b></i>", ParseMode.HTML, "can't parse entities"),
        ("<blink>x</blink>", ParseMode.HTML, "can't parse entities"),
        ("Printer - lantai 3", ParseMode.MARKDOWN_V2, "Character '-' is reserved"),
        ("*tebal", ParseMode.MARKDOWN_V2, "Can't find end of Bold entity at byte offset 0"),
    ],
)
async def test_refused_texts(bot: Bot, text: str, mode: str | None, error: str) -> None:
    with pytest.raises(BadRequest, match=f"(?i){re.escape(error)}"):
        await bot.send_message(USER_ID, text, parse_mode=mode)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("😀" * 2048, None),
        ("<b>" + "a" * 4096 + "</b>", ParseMode.HTML),
        ("5 &lt; 6 &amp; &quot;ok&quot; &#128512; <a href='https://x.test/?a=1'>x</a>", "HTML"),
        ("<pre><code class='language-py'>x</code></pre> <tg-spoiler>s</tg-spoiler>", "HTML"),
        ("*Tiket \\#7*: Printer \\- lantai\\_3 \\(2\\.1\\)\\!", ParseMode.MARKDOWN_V2),
    ],
)
async def test_accepted_texts(bot: Bot, text: str, mode: str | None) -> None:
    assert await bot.send_message(USER_ID, text, parse_mode=mode)


async def test_too_long_caption_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(USER_ID, b"x", filename="a.txt", caption="a" * 1025)


async def test_unknown_chat_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(555, "halo")


async def test_long_callback_data_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "Pilih", reply_markup=keyboard("x" * 65))


async def test_reply_to_a_missing_message_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER_ID, "halo", reply_to_message_id=999)


# -- injected faults -------------------------------------------------------------------------


async def test_flood_arrives_as_retry_after(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1},
        chat_id=USER_ID, skip=1,
    )  # fmt: skip
    await bot.send_message(USER_ID, "satu")

    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER_ID, "dua")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "terlalu cepat")
    await asyncio.sleep(1.05)
    await bot.send_message(USER_ID, "dua")

    assert raised.value.retry_after == timedelta(seconds=1)
    assert api.retry_violations == 1
    assert [m.text for m in api.messages_to(USER_ID)] == ["satu", "dua"]


async def test_blocked_user_gets_forbidden(api: FakeBotApi, bot: Bot) -> None:
    api.block(USER_ID)

    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER_ID, "halo")
    (update,) = await bot.get_updates()
    api.unblock(USER_ID, notify=False)
    await bot.send_message(USER_ID, "halo lagi")

    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_case_c10_error_body_injected(api: FakeBotApi, bot: Bot) -> None:
    body = next(item for item in case("C10_blocked.json") if "error_code" in item)
    api.fail_next("sendMessage", body["error_code"], body["description"])

    with pytest.raises(Forbidden):
        await bot.send_message(USER_ID, "pengingat")
    await bot.send_message(USER_ID, "pengingat")


async def test_group_migration_arrives_as_chat_migrated(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next(
        "sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": -1009}, chat_id=GROUP_ID,
    )  # fmt: skip
    with pytest.raises(ChatMigrated) as raised:
        await bot.send_message(GROUP_ID, "halo")
    api.group(-42, "Old group", type="group")
    api.migrate_group(-42, -1004200000000)

    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-42, "halo")
    await bot.send_message(-1004200000000, "halo")

    assert raised.value.new_chat_id == -1009
    assert migrated.value.new_chat_id == -1004200000000


async def test_delay_slows_every_call(api: FakeBotApi, bot: Bot) -> None:
    api.delay = 0.2
    started = time.monotonic()

    await bot.send_message(USER_ID, "pelan")

    assert time.monotonic() - started >= 0.2


# -- another process -------------------------------------------------------------------------

ECHO_BOT = """
import asyncio, sys
from telegram import Bot

async def main() -> None:
    async with Bot(sys.argv[1], base_url=sys.argv[2]) as bot:
        updates = await bot.get_updates(timeout=10)
        for update in updates:
            await bot.send_message(update.effective_chat.id, "echo: " + update.message.text)
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

asyncio.run(main())
"""


async def test_serves_a_bot_in_a_subprocess(api: FakeBotApi) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ECHO_BOT, TOKEN, api.base_url
    )
    await api.send_text(USER_ID, "dari proses lain")

    (reply,) = await api.wait_for_messages(USER_ID, 1, timeout=20)

    assert await asyncio.wait_for(process.wait(), 20) == 0
    assert reply.text == "echo: dari proses lain"
    assert api.pending_updates == 0


async def test_serves_a_polling_application(api: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Selamat datang</b>")

    application = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
    application.add_handler(CommandHandler("start", start))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        await api.send_text(USER_ID, "/start@unr_helpdesk_bot")
        (reply,) = await api.wait_for_messages(USER_ID, 1)
        await application.updater.stop()
        await application.stop()

    assert reply.text == "Selamat datang"
    assert [c.method for c in api.calls[:3]] == ["getMe", "deleteWebhook", "getUpdates"]
