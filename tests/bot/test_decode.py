"""Bot API updates, including the field cases, turned into `Inbound` or quietly ignored."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.decode import decode_update
from handlers.intake import UnreadableInput
from handlers.messages import Inbound
from tests.conftest import shared_path

BOT = "Example_Helpdesk_Bot"


def case(name: str) -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = json.loads(shared_path("cases", "telegram", name).read_text())
    return [u for u in updates if "update_id" in u]


def decode(update: dict[str, Any]) -> Inbound | None:
    return decode_update(update, bot_username=BOT)


def test_c01_channel_posts_are_ignored_with_one_debug_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.decode")
    updates = case("C01_channel_post.json")

    assert [decode(u) for u in updates] == [None, None]
    assert len([r for r in caplog.records if r.name == "bot.decode"]) == len(updates)
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "bot.decode")


def test_c03_sticker_photo_contact_location() -> None:
    sticker, photo, contact, location = (decode(u) for u in case("C03_non_text.json"))

    assert sticker is not None and sticker.attachments[0].kind == "sticker"
    assert sticker.text == ""
    assert photo is not None
    assert photo.command == "new" and photo.text == "Printer shows error E-502"
    assert photo.attachments[0].ref == "AgACAgIAAxkBAAIBPLACEHOLDERLARGE"
    assert contact is not None and contact.note == "contact"
    assert "+620000000000" not in repr(contact)
    assert location is not None and location.note == "location"


def test_c05_commands_for_another_bot_are_dropped_ours_are_kept() -> None:
    other, ours, bare = (decode(u) for u in case("C05_commands_in_group.json"))

    assert other is None
    assert ours is not None
    assert (ours.command, ours.args, ours.mentioned, ours.is_group) == (
        "new",
        "printer jam",
        True,
        True,
    )
    assert bare is not None and bare.command == "new" and not bare.mentioned


def test_command_names_compare_case_insensitively() -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "date": 1,
            "chat": {"id": -5, "type": "group"},
            "from": {"id": 7, "is_bot": False, "first_name": "A"},
            "text": "/Tiket@example_helpdesk_bot",
            "entities": [{"offset": 0, "length": 27, "type": "bot_command"}],
        },
    }

    inbound = decode(update)

    assert inbound is not None and inbound.command == "tiket" and inbound.mentioned


def test_c10_block_and_unblock_become_membership_events() -> None:
    blocked = decode(case("C10_blocked.json")[0])
    assert blocked is not None and blocked.event == "blocked"

    update = case("C10_blocked.json")[0]
    update["my_chat_member"]["new_chat_member"]["status"] = "member"
    unblocked = decode(update)
    assert unblocked is not None and unblocked.event == "unblocked"


def test_reply_to_and_callback_are_carried() -> None:
    reply = decode(
        {
            "update_id": 2,
            "message": {
                "message_id": 9,
                "date": 1,
                "chat": {"id": -100, "type": "supergroup"},
                "from": {"id": 8, "is_bot": False, "first_name": "Staf"},
                "text": "sudah",
                "reply_to_message": {
                    "message_id": 4,
                    "date": 1,
                    "chat": {"id": -100, "type": "group"},
                },
            },
        }
    )
    press = decode(
        {
            "update_id": 3,
            "callback_query": {
                "id": "q1",
                "from": {"id": 8, "is_bot": False, "first_name": "Staf"},
                "data": "t:c:1",
                "chat_instance": "x",
                "message": {
                    "message_id": 4,
                    "date": 1,
                    "chat": {"id": -100, "type": "supergroup"},
                },
            },
        }
    )

    assert reply is not None and reply.reply_to_ref == "4"
    assert press is not None and (press.callback, press.callback_ref) == ("t:c:1", "q1")
    assert press.callback_label is None  # the message came without its buttons


def test_a_press_carries_the_label_of_its_button_for_the_report() -> None:
    keyboard = [
        [{"text": "👍 Terbantu", "callback_data": "ok:1a"}, {"text": "🙋 Hubungi staf"}],
        [{"text": "Ambil", "callback_data": "t:c:1"}],
        "not a row",
    ]
    query = {
        "id": "q1",
        "from": {"id": 8, "is_bot": False, "first_name": "Dewi"},
        "data": "t:c:1",
        "message": {
            "message_id": 4,
            "date": 1,
            "chat": {"id": 8, "type": "private"},
            "reply_markup": {"inline_keyboard": keyboard},
        },
    }

    press = decode({"update_id": 3, "callback_query": query})
    stray = decode({"update_id": 4, "callback_query": {**query, "data": "gone"}})

    assert press is not None and press.callback_label == "Ambil"
    assert stray is not None and stray.callback_label is None


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 4, "message": {"message_id": 1, "date": 1}},
        {
            "update_id": 5,
            "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}},
        },
        {
            "update_id": 6,
            "callback_query": {
                "id": "x",
                "data": "k:salam",
                "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}},
            },
        },
    ],
)
def test_updates_missing_what_every_update_has_are_unreadable(update: dict[str, Any]) -> None:
    with pytest.raises(UnreadableInput):
        decode(update)


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 7},
        {"update_id": 8, "poll": {"id": "p"}},
        {
            "update_id": 9,
            "message": {
                "message_id": 1,
                "date": 1,
                "text": "hi",
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 2, "is_bot": True, "first_name": "B"},
            },
        },
        {"update_id": 10, "callback_query": {"id": "y", "from": {"id": 1}}},
    ],
)
def test_updates_needing_no_answer_are_ignored(update: dict[str, Any]) -> None:
    assert decode(update) is None


def test_edited_and_forwarded_messages_keep_their_text() -> None:
    base = {
        "message_id": 3,
        "date": 1,
        "chat": {"id": 1, "type": "private"},
        "from": {"id": 1, "is_bot": False, "first_name": "A", "language_code": "en"},
        "text": "lupa password",
    }
    edited = decode({"update_id": 11, "edited_message": base})
    forwarded = decode(
        {
            "update_id": 12,
            "message": {
                **base,
                "forward_origin": {"type": "hidden_user", "sender_user_name": "X", "date": 1},
            },
        }
    )

    assert edited is not None and edited.is_edit and edited.text == "lupa password"
    assert forwarded is not None and forwarded.text == "lupa password"
    assert forwarded.sender.language == "en"
