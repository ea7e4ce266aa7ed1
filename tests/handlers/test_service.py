"""The helpdesk's decisions, channel-free: what it queues and records for each message."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import EmailRules, HelpdeskConfig
from handlers.knowledge import KnowledgeBase
from handlers.matching import Matcher
from handlers.messages import Channel, Inbound, Sender
from handlers.service import Helpdesk
from storage.models import Interaction, OutboxMessage, Ticket

pytestmark = pytest.mark.db

STAFF_CHAT = "-100500"
STAFF_ID = "900"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
def helpdesk(kb: KnowledgeBase) -> Helpdesk:
    config = HelpdeskConfig(
        staff_ids={"telegram": frozenset({STAFF_ID})},
        staff_chat=("telegram", STAFF_CHAT),
        contact={"helpdesk_email": "helpdesk@unr.example"},
    )
    return Helpdesk(config, kb, Matcher(kb))


def user_says(text: str = "", *, user: str = "111", **fields: object) -> Inbound:
    sender = Sender(user, f"Mahasiswa {user}", "id")
    return replace(Inbound(Channel.TELEGRAM, sender, user, text=text), **fields)  # type: ignore[arg-type]


def staff_says(text: str = "", **fields: object) -> Inbound:
    sender = Sender(STAFF_ID, "Staf Ayu", "id")
    base = Inbound(Channel.TELEGRAM, sender, STAFF_CHAT, text=text, is_group=True)
    return replace(base, **fields)  # type: ignore[arg-type]


async def handle(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk, inbound: Inbound
) -> list[OutboxMessage]:
    """Handle one message and return what it queued."""
    async with sessions.begin() as session:
        before = await session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
        await helpdesk.handle(session, inbound)
    async with sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.id > (before or 0))
        return list((await session.scalars(query.order_by(OutboxMessage.id))).all())


def to_chat(queued: list[OutboxMessage], chat: str) -> list[str]:
    return [
        m.payload["html"]
        for m in queued
        if m.chat_id == chat and m.payload["purpose"] != "callback_answer"
    ]


async def test_known_question_gets_the_kb_answer_with_feedback_buttons(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(sessions, helpdesk, user_says("min gmn cara aktivasi akun sunari?"))

    assert len(queued) == 1
    assert "aktivasi" in queued[0].payload["html"].lower()
    labels = [b[0] for row in queued[0].payload["buttons"] for b in row]
    # The topic has a guided flow (activation): it is offered, not forced.
    assert labels == ["👍 Terbantu", "🙋 Hubungi staf", "📝 Aktivasi akun sekarang"]
    async with sessions() as session:
        rows = (await session.scalars(select(Interaction).order_by(Interaction.id))).all()
    assert [(r.direction, r.topic, r.outcome) for r in rows] == [
        ("in", "aktivasi_akun", "answered"),
        ("out", "aktivasi_akun", "queued"),
    ]


async def test_unknown_question_offers_topics_and_staff_then_becomes_a_ticket(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(sessions, helpdesk, user_says("Berapa biaya UKT semester ini?"))
    handover = [b for row in queued[0].payload["buttons"] for b in row if b[1].startswith("h:")]
    assert len(handover) == 1

    queued = await handle(
        sessions, helpdesk, user_says(callback=handover[0][1], callback_ref="cb1")
    )

    user_msgs = to_chat(queued, "111")
    staff_msgs = [m for m in queued if m.chat_id == STAFF_CHAT]
    assert "tiket <b>#1</b>" in user_msgs[0]
    assert staff_msgs[0].payload["purpose"] == "ticket_card"
    assert "Berapa biaya UKT semester ini?" in staff_msgs[0].payload["html"]
    assert [b[1] for b in staff_msgs[0].payload["buttons"][0]] == ["t:c:1", "t:x:1"]


async def test_the_report_names_a_pressed_button_by_its_label(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(sessions, helpdesk, user_says("Berapa biaya UKT semester ini?"))
    [(label, data)] = [b for row in queued[0].payload["buttons"] for b in row if b[1][:2] == "h:"]

    await handle(
        sessions, helpdesk, user_says(callback=data, callback_ref="cb1", callback_label=label)
    )

    async with sessions() as session:
        texts = (await session.scalars(select(Interaction.text).order_by(Interaction.id))).all()
    assert f"[tombol {label}]" in texts


async def test_thanks_for_feedback_comes_after_the_press_in_the_report(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    # The console has no button notices: the thanks is a message, logged as one.
    console = replace(user_says("lupa password sunari"), channel=Channel.CONSOLE)
    queued = await handle(sessions, helpdesk, console)
    [helped] = [b[1] for row in queued[0].payload["buttons"] for b in row if b[1][:3] == "ok:"]

    await handle(sessions, helpdesk, replace(console, text="", callback=helped, callback_ref="c"))

    async with sessions() as session:
        rows = (await session.scalars(select(Interaction).order_by(Interaction.id))).all()
    assert [(r.direction, r.outcome) for r in rows[-2:]] == [("in", "helped"), ("out", "queued")]


async def test_staff_reply_reaches_the_user_and_close_tells_them(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    await handle(
        sessions, helpdesk, user_says("/staf", command="staf", args="Akun saya terkunci <b>&")
    )
    async with sessions.begin() as session:
        from storage import tickets

        await tickets.remember_message(session, 1, "telegram", STAFF_CHAT, "77", "ticket_card")

    queued = await handle(
        sessions, helpdesk, staff_says("Sudah kami buka, silakan coba lagi.", reply_to_ref="77")
    )
    assert any("Sudah kami buka" in h for h in to_chat(queued, "111"))

    queued = await handle(sessions, helpdesk, staff_says(callback="t:x:1", callback_ref="cb"))
    assert any("ditutup" in h for h in to_chat(queued, "111"))
    async with sessions() as session:
        ticket = await session.get(Ticket, 1)
        assert ticket is not None
        assert ticket.status == "closed"
        assert ticket.first_response_at is not None
        assert ticket.question == "Akun saya terkunci <b>&"


async def test_a_press_on_a_card_not_yet_recorded_still_updates_that_card(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    # The sender records a batch of deliveries at once: staff may press Ambil on a card
    # whose message id the database does not know yet (seen as a flaky C11 e2e test).
    await handle(sessions, helpdesk, user_says("/staf", command="staf", args="tolong"))

    queued = await handle(
        sessions, helpdesk, staff_says(callback="t:c:1", callback_ref="cb", message_ref="41")
    )
    edits = [m for m in queued if m.payload["purpose"] == "edit"]
    assert [(m.chat_id, m.payload["extra"]["message_ref"]) for m in edits] == [(STAFF_CHAT, "41")]
    assert "Tiket #1</b> · sedang ditangani" in edits[0].payload["html"]

    # Recorded now: the close that follows edits the same card once, not twice.
    queued = await handle(
        sessions, helpdesk, staff_says(callback="t:x:1", callback_ref="cb2", message_ref="41")
    )
    edits = [m for m in queued if m.payload["purpose"] == "edit"]
    assert [m.payload["extra"]["message_ref"] for m in edits] == ["41"]


async def test_non_staff_cannot_press_staff_buttons_or_reply(
    sessions: async_sessionmaker[AsyncSession],
    helpdesk: Helpdesk,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await handle(sessions, helpdesk, user_says("/staf", command="staf", args="tolong"))
    intruder = Inbound(
        Channel.TELEGRAM,
        Sender("666", "Orang Lain"),
        STAFF_CHAT,
        callback="t:x:1",
        callback_ref="cbx",
        is_group=True,
    )

    queued = await handle(sessions, helpdesk, intruder)

    assert [m.payload["purpose"] for m in queued] == ["callback_answer"]
    assert "hanya untuk staf" in queued[0].payload["html"]
    assert "666" in caplog.text
    async with sessions() as session:
        ticket = await session.get(Ticket, 1)
        assert ticket is not None and ticket.status == "open"


async def test_a_user_sees_only_their_own_tickets(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    await handle(sessions, helpdesk, user_says("/staf", command="staf", args="rahasia A"))
    queued = await handle(sessions, helpdesk, user_says("/tiket", user="222", command="tiket"))

    assert "rahasia" not in queued[0].payload["html"]
    assert "belum punya tiket" in queued[0].payload["html"]


async def test_staf_without_question_waits_for_the_next_message_and_batal_cancels(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(sessions, helpdesk, user_says("/staf", command="staf"))
    assert "tuliskan pertanyaan" in queued[0].payload["html"].lower()

    queued = await handle(sessions, helpdesk, user_says("/batal", command="batal"))
    assert "Dibatalkan" in queued[0].payload["html"]

    queued = await handle(sessions, helpdesk, user_says("/batal", command="batal"))
    assert "Tidak ada yang sedang berjalan" in queued[0].payload["html"]


@pytest.mark.parametrize("sends", [True, False])
async def test_ticket_copies_go_to_staff_addresses_only_when_mail_can_leave(
    sessions: async_sessionmaker[AsyncSession],
    kb: KnowledgeBase,
    caplog: pytest.LogCaptureFixture,
    sends: bool,
) -> None:
    # mail.address and mail.staff_addresses without smtp.host: copies could never leave.
    rules = EmailRules(
        address="helpdesk@unr.example", staff_addresses=("staf@unr.example",), sends=sends
    )
    config = HelpdeskConfig(staff_chat=("telegram", STAFF_CHAT), email=rules)
    helpdesk = Helpdesk(config, kb, Matcher(kb))

    queued = await handle(
        sessions, helpdesk, user_says("/staf", command="staf", args="nilai saya belum masuk")
    )

    assert to_chat(queued, STAFF_CHAT)
    assert len([m for m in queued if m.channel == "email"]) == (1 if sends else 0)
    assert ("no email transport" in caplog.text) is not sends


async def test_user_text_is_escaped_in_the_staff_card(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(
        sessions,
        helpdesk,
        user_says("/staf", command="staf", args="5 < 6 & <b>not bold</b> *_[x]"),
    )

    card = next(m.payload["html"] for m in queued if m.chat_id == STAFF_CHAT)
    assert "5 &lt; 6 &amp; &lt;b&gt;not bold&lt;/b&gt; *_[x]" in card


async def test_bare_commands_in_other_groups_are_ignored(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    bare = user_says("", chat_id="-300", is_group=True, command="start")
    assert await handle(sessions, helpdesk, bare) == []
    queued = await handle(sessions, helpdesk, replace(bare, mentioned=True))
    assert len(queued) == 1


async def test_too_long_text_is_refused_with_its_length(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(sessions, helpdesk, user_says("a" * 100_000))

    assert "100000" in queued[0].payload["html"]
    async with sessions() as session:
        row = await session.scalar(select(Interaction).where(Interaction.direction == "in"))
        assert row is not None and row.outcome == "too_long"


async def test_blocking_marks_the_person_unreachable_and_writing_again_clears_it(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    from storage import people

    await handle(sessions, helpdesk, user_says(event="blocked"))
    async with sessions() as session:
        assert await people.is_unreachable(session, "telegram", "111")

    await handle(sessions, helpdesk, user_says("halo"))
    async with sessions() as session:
        assert not await people.is_unreachable(session, "telegram", "111")


async def test_english_question_gets_an_english_answer(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(
        sessions, helpdesk, user_says("I forgot my password, how do I reset it?")
    )

    assert "Did this answer help?" in queued[0].payload["html"]


async def test_id_command_tells_a_group_its_chat_id(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    queued = await handle(
        sessions,
        helpdesk,
        user_says("", chat_id="-1001999", is_group=True, mentioned=True, command="id"),
    )

    assert queued[0].payload["html"] == "ID chat ini: <code>-1001999</code>"


async def test_a_staff_reply_quoting_an_unrecorded_card_finds_the_ticket_by_its_number(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    await handle(sessions, helpdesk, user_says("/staf", command="staf", args="tolong"))

    queued = await handle(
        sessions,
        helpdesk,
        staff_says(
            "Sudah beres.", reply_to_ref="999", reply_to_text="🎫 Tiket #1 · menunggu staf"
        ),
    )

    assert any("Sudah beres." in h for h in to_chat(queued, "111"))


async def test_a_batch_of_newcomers_each_get_one_person_and_their_answer(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    # The batch path creates senders seen once together; one who writes twice in the same
    # batch is created by their first message, and the second must find the same person.
    from handlers.intake import InboundProcessor
    from storage import queues
    from storage.models import Identity, Person

    said = [("301", "cara aktivasi akun sunari?"), ("302", "lupa password lms")]
    said += [("303", "halo"), ("303", "cara daftar SPADA gimana?")]
    async with sessions.begin() as session:
        items = [(str(n), {"user": u, "text": t}) for n, (u, t) in enumerate(said)]
        await queues.store_inbound(session, "telegram", items)

    def decode(payload: dict[str, str]) -> Inbound:
        return user_says(payload["text"], user=payload["user"])

    processor = InboundProcessor(sessions, helpdesk, {"telegram": decode})
    assert await processor.process_pending() == 4

    async with sessions() as session:
        identities = (await session.scalars(select(Identity).order_by(Identity.external_id))).all()
        people = (await session.scalars(select(Person))).all()
        queued = (await session.scalars(select(OutboxMessage))).all()
    assert [i.external_id for i in identities] == ["301", "302", "303"]
    assert len(people) == 3 and {i.display_name for i in identities} == {
        "Mahasiswa 301", "Mahasiswa 302", "Mahasiswa 303"
    }  # fmt: skip
    assert sorted(m.chat_id for m in queued) == ["301", "302", "303", "303"]
    assert processor.failed_count == 0
