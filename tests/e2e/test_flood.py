"""Field cases C11 (floods meeting 429) and C10 (a blocked user amid a run), end to end.

The Bot API test server does not throttle by itself; Telegram's limits are checked on the
times it recorded each send. retry_after is 2-3 s here instead of the case's 35.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.delivery import to_payload
from handlers.messages import Channel, Outbound, OutFile
from storage import queues
from storage.database import create_engine, session_factory
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import STAFF_GROUP, STAFF_ID, STUDENT_ID, RunningHelpdesk, button

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]

DIGEST_CHATS = [7000 + n for n in range(60)]


async def _queue(helpdesk: RunningHelpdesk, chats: list[int], html: str) -> None:
    """Messages decided at one moment (the Monday digest), as the scheduler would queue them."""
    engine = create_engine(helpdesk.settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            _enqueue(session, chats, html)
    finally:
        await engine.dispose()
    assert helpdesk.service is not None and helpdesk.service.sender is not None
    helpdesk.service.sender.wake()


def _enqueue(session: AsyncSession, chats: list[int], html: str) -> None:
    for chat in chats:
        outbound = Outbound(Channel.TELEGRAM, str(chat), html)
        queues.enqueue(session, "telegram", str(chat), to_payload(outbound))


def _most_in_a_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + seconds) for i, start in enumerate(times)),
               default=0)  # fmt: skip


async def test_c11_digest_to_60_chats_stays_under_30_a_second_and_waits_out_a_429(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    for chat in DIGEST_CHATS:
        api.user(chat, f"Staf {chat}")
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2",
                  parameters={"retry_after": 2}, skip=24)  # fmt: skip

    await _queue(helpdesk, DIGEST_CHATS, "Ringkasan mingguan")

    await api.wait_for(lambda: all(api.messages_to(c) for c in DIGEST_CHATS), timeout=30)
    sends = [m for m in api.sent if m.chat_id in DIGEST_CHATS]
    assert sorted(m.chat_id for m in sends) == DIGEST_CHATS  # each exactly once
    assert api.retry_violations == 0  # nothing went to the refused chat before its time
    assert _most_in_a_window([m.at for m in sends], 1.0) <= 30
    refused = [c for c in api.calls if c.method == "sendMessage"]
    assert len(refused) == 61  # 60 sends and the one refused


async def test_c11_twenty_claim_clicks_edit_the_card_once_and_wait_out_a_429(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    await api.send_text(STUDENT_ID, "/staf Berapa biaya UKT semester ini?")
    [card] = await api.wait_for_messages(STAFF_GROUP, 1)
    told = len(await api.wait_for_messages(STUDENT_ID, 1))
    api.fail_next("editMessageText", 429, "Too Many Requests: retry after 2",
                  parameters={"retry_after": 2})  # fmt: skip

    for _ in range(20):
        await api.press(STAFF_ID, card, button(card, "t:c:"), chat=STAFF_GROUP)
    await api.wait_for(
        lambda: sum(c.method == "answerCallbackQuery" for c in api.calls) >= 20, timeout=20
    )
    await api.wait_for(lambda: bool(api.edits), timeout=15)
    await asyncio.sleep(1.0)  # a second edit would show by now

    assert len(api.edits) == 1 and "sedang ditangani" in api.edits[0].text
    assert len(api.messages_to(STUDENT_ID)) == told + 1  # "being handled", once
    to_group = [m.at for m in api.sent + api.edits if m.chat_id == STAFF_GROUP]
    assert _most_in_a_window(to_group, 60.0) <= 20
    assert api.retry_violations == 0


async def test_c10_a_blocked_user_does_not_hold_up_the_others(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    blocked, others = 8001, [8002, 8003, 8004]
    for user in (blocked, *others):
        api.user(user, f"Mahasiswa {user}")
    api.block(blocked, notify=False)

    await _queue(helpdesk, [blocked, *others, blocked], "Pengingat: pelatihan besok")

    await api.wait_for(lambda: all(api.messages_to(u) for u in others), timeout=15)
    attempts = [c for c in api.calls if c.method == "sendMessage" and
                str(c.params.get("chat_id")) == str(blocked)]  # fmt: skip
    # The first refusal marks the person; the second message to them is not retried.
    assert 1 <= len(attempts) <= 2
    assert api.messages_to(blocked) == []


async def test_a_long_text_with_a_file_meeting_a_429_is_not_sent_twice(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    # Text over a caption's 1024 characters goes first on its own; the file's 429 then
    # must resend the file only.
    chat = 8101
    api.user(chat, "Mahasiswa 8101")
    api.fail_next("sendDocument", 429, "Too Many Requests: retry after 2",
                  parameters={"retry_after": 2})  # fmt: skip
    answer = "Jawaban staf yang panjang. " * 200
    outbound = Outbound(
        Channel.TELEGRAM,
        str(chat),
        answer,
        files=(OutFile("lampiran-1.pdf", "application/pdf", b"%PDF-1.7 isi"),),
    )
    engine = create_engine(helpdesk.settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            queues.enqueue(session, "telegram", str(chat), to_payload(outbound))
    finally:
        await engine.dispose()
    assert helpdesk.service is not None and helpdesk.service.sender is not None
    helpdesk.service.sender.wake()

    await api.wait_for(lambda: any(m.method == "sendDocument" for m in api.messages_to(chat)),
                       timeout=20)  # fmt: skip
    await asyncio.sleep(0.5)  # a repeated text would show by now
    sent = api.messages_to(chat)
    assert [m.method for m in sent] == ["sendMessage", "sendMessage", "sendDocument"]
    assert "".join(m.text for m in sent[:2]).count("Jawaban") == 200
    assert api.retry_violations == 0
