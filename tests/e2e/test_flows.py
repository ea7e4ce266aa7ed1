"""Guided flows end to end: the real service and PTB client against the Bot API test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.settings import FlowSettings, Settings
from storage import roster
from storage.models import Conversation, OutboxMessage
from storage.roster import RosterRow
from tests.botapi.server import FakeBotApi
from tests.botapi.state import SentMessage
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

LECTURER = 301
SECOND_LECTURER = 302
FACULTIES = {"Fakultas Teknik": ["Teknik Sipil", "Teknik Informatika"]}


@pytest.fixture
def settings(api: FakeBotApi, database_url: str, tmp_path: Path) -> Settings:
    api.user(LECTURER, "Budi")
    api.user(SECOND_LECTURER, "Sari")
    base = settings_for(api, database_url, state_dir=tmp_path)
    return base.model_copy(update={"flows": FlowSettings(faculties=FACULTIES)})


@pytest.fixture
async def helpdesk(settings: Settings) -> AsyncIterator[RunningHelpdesk]:
    running = RunningHelpdesk(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


class Chat:
    """One person's private chat: write or press, then wait for the bot's next message."""

    def __init__(self, api: FakeBotApi, user: int) -> None:
        self.api = api
        self.user = user

    @property
    def last(self) -> SentMessage:
        return self.api.messages_to(self.user)[-1]

    async def _next(self, action: Any) -> SentMessage:
        seen = len(self.api.messages_to(self.user))
        await action
        return (await self.api.wait_for_messages(self.user, seen + 1, timeout=15))[seen]

    async def say(self, text: str) -> SentMessage:
        return await self._next(self.api.send_text(self.user, text))

    async def press(self, prefix_or_label: str, message: SentMessage | None = None) -> SentMessage:
        message = message or self.last
        data = next(
            (
                str(b["callback_data"])
                for b in message.buttons
                if prefix_or_label in str(b.get("text", ""))
            ),
            None,
        ) or button(message, prefix_or_label)
        return await self._next(self.api.press(self.user, message, data))


async def test_course_creation_with_buttons_restart_and_staff_done(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    budi, sari = Chat(api, LECTURER), Chat(api, SECOND_LECTURER)
    first = await budi.say("/buatmk")
    assert "(1/11)" in first.text and [b["text"] for b in first.buttons][:1] == ["Fakultas Teknik"]
    await sari.say("/buatmk")  # a second lecturer in the same flow at the same time
    await budi.press("Fakultas Teknik")
    await sari.press("Fakultas Teknik")
    await budi.press("Teknik Informatika")
    await sari.press("Teknik Sipil")
    wrong = await budi.say("TIF")
    assert "Kode mata kuliah «TIF» tidak sesuai" in wrong.text
    await budi.say("TIF2101")

    await helpdesk.restart()  # mid-flow: the answers so far are in the database
    resumed = await budi.say("Algoritma dan Pemrograman")
    assert "(5/11)" in resumed.text
    assert "(4/11)" in (await sari.say("STR301")).text
    await budi.say("3")
    await budi.press("ganjil")
    back = await budi.press("Kembali")
    assert "(6/11)" in back.text and "Jawaban sekarang: ganjil" in back.text
    await budi.press("genap")
    for value in ("2026/2027", "A, B", "40", "0012345678", "budi@unr.ac.id"):
        reply = await budi.say(value)
    assert "Periksa kembali" in reply.text and "Semester: genap" in reply.text
    done = await budi.press("Kirim")
    assert "tiket #1" in done.text

    [card] = await api.wait_for_messages(STAFF_GROUP, 1)
    assert "TIF2101" in card.text and "0012345678" in card.text
    await api.send_text(
        STAFF_ID, "Sudah dibuat: https://lms.unr.example/course/7", chat=STAFF_GROUP, reply_to=card
    )
    await api.wait_for_messages(LECTURER, len(api.messages_to(LECTURER)) + 1)
    seen = len(api.messages_to(LECTURER))
    await api.press(STAFF_ID, card, "t:d:1", chat=STAFF_GROUP)
    notice = (await api.wait_for_messages(LECTURER, seen + 1))[seen]
    assert "dapat Anda temukan di LMS di https://lms.unr.example/course/7" in notice.text
    await api.wait_for(lambda: any(e.chat_id == STAFF_GROUP for e in api.edits))
    assert api.edits[-1].buttons == []  # the card has no buttons once done

    [ticket] = await helpdesk.tickets()
    assert (ticket.kind, ticket.status) == ("course_creation", "closed")
    assert ticket.details is not None and ticket.details["semester"] == "genap"

    async def sari_kept() -> bool:
        async def load(session: Any) -> Any:
            return (await session.scalars(select(Conversation))).all()

        rows = await helpdesk.query(load)
        return [r.data["values"].get("course_code") for r in rows] == ["STR301"]

    await eventually(sari_kept)
    report = await helpdesk.report()
    outcomes = {(r.outcome, r.topic) for r in report}
    assert {("flow_started", "buat_mk"), ("flow_submitted", "buat_mk"), ("done", "buat_mk")} <= (
        outcomes
    )


async def test_activation_on_telegram_only_is_handed_to_staff_without_a_code(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    # No imap/smtp settings: a mailed code could never leave. The mailed code itself is
    # tested with real mail servers in test_email_flows.
    async def add_roster(session: Any) -> None:
        row = RosterRow("2021010001", "mahasiswa", "Dewi", "dewi@student.unr.example", "TI")
        await roster.upsert(session, [row])
        await session.commit()

    await helpdesk.query(add_roster)
    dewi = Chat(api, STUDENT_ID)
    answer = await dewi.say("akun sunari saya belum aktif, gimana cara aktivasinya?")
    asked = await dewi.press("Aktivasi akun sekarang", answer)
    assert "ketik NIM Anda" in asked.text
    assert "NIM «12» tidak sesuai" in (await dewi.say("12")).text
    told = await dewi.say("2021010001")
    assert "tidak dapat dikirim lewat email" in told.text
    assert "d***@" not in told.text and "sudah dikirim" not in told.text

    async def mailed(session: Any) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.channel == "email")
        return list((await session.scalars(query)).all())

    assert await helpdesk.query(mailed) == []
    [card] = await api.wait_for_messages(STAFF_GROUP, 1)
    assert "2021010001" in card.text
    [ticket] = await helpdesk.tickets()
    assert ticket.kind is None and f"#{ticket.id}" in told.text
    # The flow is over: what Dewi types next is an ordinary message, not a code.
    assert await helpdesk.query(lambda s: s.scalar(select(Conversation))) is None
