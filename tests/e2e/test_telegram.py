"""End to end on Telegram: the real service and the real PTB client against the test server."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from tests.botapi.server import FakeBotApi
from tests.conftest import shared_path
from tests.e2e.harness import (
    STAFF_GROUP,
    STAFF_ID,
    STUDENT_ID,
    RunningHelpdesk,
    button,
    eventually,
    settings_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.db]


async def test_student_activation_question_is_answered(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await api.send_text(STUDENT_ID, "min, akun sunari saya belum aktif, gimana cara aktivasinya?")

    [answer] = await api.wait_for_messages(STUDENT_ID, 1)
    assert "aktivasi" in answer.text.lower()
    assert answer.parse_mode == "HTML"

    await api.press(STUDENT_ID, answer, button(answer, "ok:"))
    await api.wait_for(lambda: any(c.method == "answerCallbackQuery" for c in api.calls))
    rows = await helpdesk.report()
    assert ("in", "aktivasi_akun", "answered") in [(r.direction, r.topic, r.outcome) for r in rows]
    assert any(r.direction == "out" and r.outcome == "delivered" for r in rows)


async def _open_ticket(api: FakeBotApi, question: str) -> None:
    """The student asks something the KB cannot answer and asks for a person."""
    await api.send_text(STUDENT_ID, question)
    [unsure] = await api.wait_for_messages(STUDENT_ID, 1)
    await api.press(STUDENT_ID, unsure, button(unsure, "h:"))
    await api.wait_for_messages(STUDENT_ID, 2)
    await api.wait_for_messages(STAFF_GROUP, 1)


async def test_a_staff_photo_reply_is_copied_to_the_user_with_the_text_after_it(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await _open_ticket(api, "Berapa biaya UKT semester ini?")
    [card] = api.messages_to(STAFF_GROUP)

    await api.send_photo(
        STAFF_ID, b"\xff\xd8\xff tabel UKT", caption="Tabel UKT terbaru.", chat=STAFF_GROUP,
        reply_to=card,
    )  # fmt: skip
    photo, words = (await api.wait_for_messages(STUDENT_ID, 4))[2:]
    assert photo.method == "copyMessage" and "photo" in photo.message
    assert "caption" not in photo.message  # dropped: the text follows
    assert "Balasan staf" in words.text and "Tabel UKT terbaru." in words.text

    await api.send_photo(STAFF_ID, b"\xff\xd8\xff kedua", chat=STAFF_GROUP, reply_to=card)
    words = (await api.wait_for_messages(STUDENT_ID, 6))[5]
    assert "(berkas terlampir)" in words.text
    rows = [r for r in await helpdesk.report() if r.outcome == "staff_reply"]
    assert len(rows) == 2  # both replies are in the report, the one without words too


async def test_a_copied_photo_goes_once_after_a_429_and_a_refused_copy_still_brings_the_text(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await _open_ticket(api, "Berapa biaya UKT semester ini?")
    [card] = api.messages_to(STAFF_GROUP)

    # The photo is copied, then the words meet flood control: only the words go again.
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2",
                  parameters={"retry_after": 2}, chat_id=STUDENT_ID)  # fmt: skip
    await api.send_photo(STAFF_ID, b"\xff\xd8\xff tabel", caption="Tabel UKT.", chat=STAFF_GROUP,
                         reply_to=card)  # fmt: skip
    photo, words = (await api.wait_for_messages(STUDENT_ID, 4, timeout=15))[2:]
    assert photo.method == "copyMessage" and "Tabel UKT." in words.text

    # Telegram will not copy it (the staff member deleted it first): a line says so in its
    # place, and the words still come, once, though they meet flood control too.
    api.fail_next("copyMessage", 400, "Bad Request: message to copy not found")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2",
                  parameters={"retry_after": 2}, chat_id=STUDENT_ID, skip=1)  # fmt: skip
    await api.send_photo(STAFF_ID, b"\xff\xd8\xff lagi", caption="Versi baru.", chat=STAFF_GROUP,
                         reply_to=card)  # fmt: skip
    gone, words = (await api.wait_for_messages(STUDENT_ID, 6, timeout=15))[4:]
    assert "tidak tersedia" in gone.text and "photo" in gone.text
    assert "Versi baru." in words.text
    await asyncio.sleep(0.5)  # a second copy would show by now
    assert [m.method for m in api.messages_to(STUDENT_ID)].count("copyMessage") == 1
    assert len(api.messages_to(STUDENT_ID)) == 6  # the line and the words each once
    assert api.retry_violations == 0


async def test_unknown_question_ticket_staff_reply_and_close(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await _open_ticket(api, "Berapa biaya UKT semester ini?")

    confirmation = api.messages_to(STUDENT_ID)[1]
    assert "tiket #1" in confirmation.text
    [card] = api.messages_to(STAFF_GROUP)
    assert "Berapa biaya UKT semester ini?" in card.text and "Dewi" in card.text

    await api.send_text(
        STAFF_ID, "UKT diurus bagian keuangan, silakan ke BAAK.", chat=STAFF_GROUP, reply_to=card
    )
    messages = await api.wait_for_messages(STUDENT_ID, 3)
    assert "UKT diurus bagian keuangan, silakan ke BAAK." in messages[2].text

    await api.press(STAFF_ID, card, "t:x:1", chat=STAFF_GROUP)
    messages = await api.wait_for_messages(STUDENT_ID, 4)
    assert "ditutup" in messages[3].text
    await api.wait_for(lambda: any(e.chat_id == STAFF_GROUP for e in api.edits))
    assert api.edits[-1].buttons == []

    [ticket] = await helpdesk.tickets()
    assert (ticket.status, ticket.first_response_at is not None) == ("closed", True)
    report = await helpdesk.report()
    staff_rows = [r for r in report if r.handled_by == "Staf Ayu"]
    assert {r.outcome for r in staff_rows} >= {"staff_reply", "closed"}


async def test_staff_reply_after_a_restart_still_reaches_the_user(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await _open_ticket(api, "Bagaimana cara mengurus cuti akademik?")
    [card] = api.messages_to(STAFF_GROUP)

    await helpdesk.restart()
    await api.send_text(
        STAFF_ID,
        "Cuti akademik diurus di BAAK, bukan di e-learning.",
        chat=STAFF_GROUP,
        reply_to=card,
    )

    messages = await api.wait_for_messages(STUDENT_ID, 3)
    assert "Cuti akademik diurus di BAAK" in messages[2].text


async def test_a_question_sent_while_the_service_is_down_is_answered_after_start(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await helpdesk.stop()
    await api.send_text(STUDENT_ID, "Saya lupa password akun e-learning")

    await helpdesk.start()

    [answer] = await api.wait_for_messages(STUDENT_ID, 1)
    assert "sandi" in answer.text.lower() or "password" in answer.text.lower()


async def test_non_staff_cannot_use_staff_buttons_or_replies(
    api: FakeBotApi, helpdesk: RunningHelpdesk, caplog: pytest.LogCaptureFixture
) -> None:
    intruder = 555
    api.user(intruder, "Bukan Staf")
    await _open_ticket(api, "Berapa biaya UKT semester ini?")
    [card] = api.messages_to(STAFF_GROUP)

    await api.press(intruder, card, "t:x:1", chat=STAFF_GROUP)
    await api.send_text(intruder, "saya tutup saja", chat=STAFF_GROUP, reply_to=card)
    await api.wait_for(lambda: any(c.method == "answerCallbackQuery" for c in api.calls))
    await api.wait_for(lambda: "555" in caplog.text and caplog.text.count("refused") >= 2)

    answered = [c for c in api.calls if c.method == "answerCallbackQuery"]
    assert "hanya untuk staf" in str(answered[-1].params.get("text"))
    [ticket] = await helpdesk.tickets()
    assert ticket.status == "open"
    assert not any("saya tutup saja" in m.text for m in api.messages_to(STUDENT_ID))


HOSTILE = "<b>bold?</b> & &amp; _under_ *star* [link](x) `code` 5 < 6 > 4"


async def test_hostile_text_comes_back_intact_both_ways(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await api.send_text(STUDENT_ID, f"/staf {HOSTILE}")
    [card] = await api.wait_for_messages(STAFF_GROUP, 1)
    assert HOSTILE in card.text

    await api.send_text(STAFF_ID, HOSTILE, chat=STAFF_GROUP, reply_to=card)
    messages = await api.wait_for_messages(STUDENT_ID, 2)
    assert HOSTILE in messages[-1].text


async def test_a_5000_character_reply_arrives_whole_in_pieces(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    long_text = "\n".join(f"baris {i:03d}: langkah <{i}> & selesai" for i in range(160))
    assert len(long_text) > 5000
    await api.send_text(STUDENT_ID, "/staf tolong kirim panduan lengkap")
    [card] = await api.wait_for_messages(STAFF_GROUP, 1)

    await api.send_text(STAFF_ID, long_text, chat=STAFF_GROUP, reply_to=card)

    await api.wait_for(lambda: "baris 159" in "".join(m.text for m in api.messages_to(STUDENT_ID)))
    joined = "\n".join(m.text for m in api.messages_to(STUDENT_ID)[1:])
    assert long_text in joined


def _case(name: str) -> list[dict[str, object]]:
    updates = json.loads(shared_path("cases", "telegram", name).read_text())
    return [u for u in updates if "update_id" in u]


async def test_c01_channel_posts_create_nothing_and_send_nothing(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    for update in _case("C01_channel_post.json"):
        await api.send_update(update)
    await api.send_text(STUDENT_ID, "halo")  # a marker: once answered, the posts were handled

    await api.wait_for_messages(STUDENT_ID, 1)
    assert len(api.sent) == 1
    assert {r.person_id for r in await helpdesk.report()} == {1}


async def test_c03_sticker_hint_photo_ticket_contact_and_location(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    sticker, photo, contact, location = _case("C03_non_text.json")
    user = 100000002

    await api.send_update(sticker)
    [hint] = await api.wait_for_messages(user, 1)
    assert "teks" in hint.text
    await api.send_update(photo)
    await api.wait_for_messages(STAFF_GROUP, 1)
    copies = [c for c in api.calls if c.method == "copyMessage"]
    assert len(copies) == 1
    assert "Printer shows error E-502" in api.messages_to(STAFF_GROUP)[0].text
    await api.send_update(contact)
    await api.send_update(location)
    await api.wait_for_messages(user, 4)

    [ticket] = await helpdesk.tickets()
    assert ticket.question == "Printer shows error E-502"
    report = await helpdesk.report()
    photo_row = next(r for r in report if r.attachments and r.outcome == "escalated")
    assert photo_row.attachments is not None
    assert photo_row.attachments["files"][0]["ref"] == "AgACAgIAAxkBAAIBPLACEHOLDERLARGE"
    assert not any("+620000000000" in r.text for r in report)


async def test_c05_group_commands_for_another_bot_are_ignored(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    group = -1003000000003
    for update in json.loads(
        shared_path("cases", "telegram", "C05_commands_in_group.json").read_text()
    ):
        message = update["message"]
        renamed = message["text"].replace("Example_Helpdesk_Bot", "UNR_Helpdesk_Bot")
        message["entities"][0]["length"] -= len(message["text"]) - len(renamed)
        message["text"] = renamed
        await api.send_update(update)
    await api.send_text(STUDENT_ID, "halo")

    await api.wait_for_messages(STUDENT_ID, 1)
    # Only /new@UNR_Helpdesk_Bot printer jam (addressed to us) gets an answer in the group.
    assert len(api.messages_to(group)) == 1


async def test_c10_blocked_user_is_marked_and_not_retried(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await _open_ticket(api, "Berapa biaya UKT semester ini?")
    [card] = api.messages_to(STAFF_GROUP)
    api.block(STUDENT_ID)

    await api.send_text(STAFF_ID, "Jawaban staf", chat=STAFF_GROUP, reply_to=card)
    await api.wait_for(
        lambda: any(
            c.method == "sendMessage"
            and str(c.params.get("chat_id")) == str(STUDENT_ID)
            and "Jawaban staf" in str(c.params.get("text"))
            for c in api.calls
        )
    )
    await api.wait_for_messages(STAFF_GROUP, 2)  # the "reply sent" notice comes after

    attempts = [
        c
        for c in api.calls
        if c.method == "sendMessage"
        and "Jawaban staf" in str(c.params.get("text"))
        and str(c.params.get("chat_id")) == str(STUDENT_ID)
    ]
    assert len(attempts) == 1

    async def marked() -> bool:
        return "unreachable" in [r.outcome for r in await helpdesk.report()]

    await eventually(marked)

    api.unblock(STUDENT_ID)
    await api.send_text(STUDENT_ID, "halo lagi")
    await api.wait_for(
        lambda: any(
            "halo" not in m.text and m.chat_id == STUDENT_ID
            for m in api.messages_to(STUDENT_ID)[2:]
        )
    )


async def test_c11_flood_control_is_waited_out_and_each_message_sent_once(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    api.fail_next(
        "sendMessage",
        429,
        "Too Many Requests: retry after 1",
        parameters={"retry_after": 1},
        chat_id=STUDENT_ID,
    )

    await api.send_text(STUDENT_ID, "Saya lupa password akun e-learning")
    await api.send_text(STUDENT_ID, "Bagaimana cara mendaftar kuliah PDITT?")

    messages = await api.wait_for_messages(STUDENT_ID, 2, timeout=15)
    assert len(messages) == 2
    assert "password" in messages[0].text.lower() or "sandi" in messages[0].text.lower()
    assert "PDITT" in messages[1].text
    assert api.retry_violations == 0


async def test_c08_a_formatting_refusal_is_resent_as_plain_text(
    api: FakeBotApi, helpdesk: RunningHelpdesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    api.fail_next(
        "sendMessage",
        400,
        "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
        chat_id=STUDENT_ID,
    )

    await api.send_text(STUDENT_ID, "Saya lupa password akun e-learning")

    [answer] = await api.wait_for_messages(STUDENT_ID, 1)
    assert answer.parse_mode is None
    assert "plain text" in caplog.text


async def test_staff_group_upgraded_to_supergroup_keeps_working(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    new_group = -1009999999999
    api.migrate_group(STAFF_GROUP, new_group, notify=False)

    await api.send_text(STUDENT_ID, "/staf tolong bantu saya")

    messages = await api.wait_for_messages(new_group, 2)
    assert any("supergrup" in m.text for m in messages)
    assert any("tolong bantu saya" in m.text for m in messages)


async def test_flood_control_in_the_middle_of_a_split_message_sends_no_piece_twice(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    long_text = "\n".join(f"langkah {i:03d}: isi formulir dan kirim" for i in range(200))
    await api.send_text(STUDENT_ID, "/staf tolong kirim panduan lengkap")
    [card] = await api.wait_for_messages(STAFF_GROUP, 1)
    api.fail_next(
        "sendMessage",
        429,
        "Too Many Requests: retry after 1",
        parameters={"retry_after": 1},
        chat_id=STUDENT_ID,
        skip=1,
    )

    await api.send_text(STAFF_ID, long_text, chat=STAFF_GROUP, reply_to=card)

    await api.wait_for(lambda: "langkah 199" in api.messages_to(STUDENT_ID)[-1].text, 15)
    pieces = [m.text for m in api.messages_to(STUDENT_ID)[1:]]
    assert len(pieces) == 2
    assert long_text in "\n".join(pieces)


async def test_ticket_flow_with_delivery_in_its_own_process(
    api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    running = RunningHelpdesk(
        settings_for(api, database_url, state_dir=tmp_path, delivery="process")
    )
    await running.start()
    try:
        await _open_ticket(api, "Berapa biaya UKT semester ini?")
        [card] = api.messages_to(STAFF_GROUP)
        await running.restart()
        await api.send_text(
            STAFF_ID, "Silakan tanya ke bagian keuangan.", chat=STAFF_GROUP, reply_to=card
        )
        messages = await api.wait_for_messages(STUDENT_ID, 3, timeout=20)
        assert "Silakan tanya ke bagian keuangan." in messages[2].text
    finally:
        await running.stop()
    assert len(api.messages_to(STUDENT_ID)) == 3  # nothing twice across the restart
