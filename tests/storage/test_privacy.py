"""Privacy: one person's export holds all of theirs and nobody else's; purge keeps the counts."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.decode import decode_update
from bot.intake import store_updates
from handlers.config import EmailRules, HelpdeskConfig
from handlers.intake import InboundProcessor
from handlers.knowledge import KnowledgeBase
from handlers.matching import Matcher
from handlers.service import Helpdesk
from mail.decode import EmailDecoder, raw_of, stored_payload
from mail.imapwire import storage_key
from storage import queues, roster
from storage.models import ActivationCode, InboundUpdate, Interaction, OutboxMessage, Ticket
from storage.privacy import (
    HIDDEN,
    PURGED,
    AmbiguousKey,
    PersonNotFound,
    email_owner,
    export_person,
    find_person,
    find_subject,
    purge_before,
)
from storage.roster import RosterRow
from storage.types import utcnow
from tests.handlers.flows.desk import Desk, make_helpdesk

pytestmark = pytest.mark.db

DEWI, BUDI = 111, 222
DEWI_SECRET = "NIM 2021001 nilai Kalkulus saya hilang"
BUDI_TEXT = "Saya lupa password akun e-learning"


def message(update_id: int, user: int, name: str, text: str) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": 5}] if text.startswith("/") else []
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": name},
            "text": text,
            "entities": entities,
        },
    }


@pytest.fixture(scope="module")
def helpdesk() -> Helpdesk:
    kb = KnowledgeBase.load()
    config = HelpdeskConfig(staff_chat=("telegram", "-100500"))
    return Helpdesk(config, kb, Matcher(kb))


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk) -> None:
    """Dewi opens a ticket, Budi asks a question; all through the real intake."""
    await store_updates(
        sessions,
        [
            message(1, DEWI, "Dewi", f"/staf {DEWI_SECRET}"),
            message(2, BUDI, "Budi", BUDI_TEXT),
        ],
    )
    decoders = {"telegram": lambda p: decode_update(p, bot_username="unr_helpdesk_bot")}
    assert await InboundProcessor(sessions, helpdesk, decoders).process_pending() == 2


async def _age(sessions: async_sessionmaker[AsyncSession], days: int) -> None:
    """Make everything so far `days` old, and Dewi's ticket closed."""
    past = utcnow() - timedelta(days=days)
    async with sessions.begin() as session:
        await session.execute(update(Interaction).values(at=past))
        await session.execute(update(Ticket).values(created_at=past, status="closed"))
        await session.execute(update(InboundUpdate).values(received_at=past))
        await session.execute(update(OutboxMessage).values(created_at=past, status="sent"))


@pytest.mark.usefixtures("seeded")
async def test_export_holds_everything_about_the_person_and_nothing_of_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        dewi = await find_person(session, f"telegram:{DEWI}")
        assert (await find_person(session, str(dewi.id))).id == dewi.id
        data = await export_person(session, dewi)
        with pytest.raises(PersonNotFound):
            await find_person(session, "telegram:999")

    text = json.dumps(data, ensure_ascii=False)
    assert data["person"]["display_name"] == "Dewi"
    assert [i["external_id"] for i in data["identities"]] == [str(DEWI)]
    assert [t["question"] for t in data["tickets"]] == [DEWI_SECRET]
    assert any(DEWI_SECRET in i["text"] for i in data["interactions"])
    assert [u["external_id"] for u in data["inbound_updates"]] == ["1"]
    assert data["outbox"] and all(m["chat_id"] == str(DEWI) for m in data["outbox"])
    assert BUDI_TEXT not in text and "Budi" not in text


@pytest.mark.usefixtures("seeded")
async def test_purge_blanks_old_words_and_keeps_every_row_the_report_counts(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    await _age(sessions, days=400)
    await store_updates(sessions, [message(3, BUDI, "Budi", BUDI_TEXT)])  # recent: kept
    decoders = {"telegram": lambda p: decode_update(p, bot_username="unr_helpdesk_bot")}
    await InboundProcessor(sessions, helpdesk, decoders).process_pending()
    async with sessions() as session:
        before = (await session.execute(select(Interaction.topic, Interaction.outcome))).all()

    async with sessions.begin() as session:
        counts = await purge_before(session, utcnow() - timedelta(days=365))
    async with sessions.begin() as session:
        again = await purge_before(session, utcnow() - timedelta(days=365))

    assert counts.interactions > 0 and counts.tickets == 1 and counts.inbound_updates == 2
    assert again.total() == 0  # idempotent
    async with sessions() as session:
        after = (await session.execute(select(Interaction.topic, Interaction.outcome))).all()
        texts = (await session.scalars(select(Interaction.text))).all()
        ticket = await session.scalar(select(Ticket))
        payloads = (await session.scalars(select(InboundUpdate.payload))).all()
        held = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert sorted(map(repr, after)) == sorted(map(repr, before))  # the report's counts
    assert not any(DEWI_SECRET in t for t in texts)
    assert sum(BUDI_TEXT in t for t in texts) == 1  # the recent question stays
    assert ticket is not None and ticket.question == PURGED and ticket.details is None
    assert payloads.count({}) == 2 and any(p for p in payloads)
    assert held and held >= 3


def _email(sender: str, body: str) -> tuple[str, dict[str, Any]]:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "helpdesk@unr.example", "Tanya"
    message["Message-ID"] = make_msgid(domain="client.example")
    message.set_content(body)
    raw = message.as_bytes()
    return storage_key(raw), stored_payload(raw, uid=1, uidvalidity=1, mailbox="INBOX")


async def test_export_holds_the_persons_stored_raw_emails_and_nobody_elses(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    kb = KnowledgeBase.load()
    config = HelpdeskConfig(
        staff_chat=("telegram", "-100500"), email=EmailRules(address="helpdesk@unr.example")
    )
    decoder = EmailDecoder(["helpdesk@unr.example"], max_attachment_bytes=10_000)
    async with sessions.begin() as session:
        await queues.store_inbound(
            session,
            "email",
            [
                _email("Dewi <Dewi@Client.example>", DEWI_SECRET),
                _email("Budi <budi@client.example>", BUDI_TEXT),
            ],
        )
    helpdesk = Helpdesk(config, kb, Matcher(kb))
    await InboundProcessor(sessions, helpdesk, {"email": decoder}).process_pending()

    async with sessions() as session:
        dewi = await find_person(session, "dewi@client.example")
        data = await export_person(session, dewi)
    [row] = data["inbound_updates"]
    assert row["channel"] == "email"
    assert DEWI_SECRET in raw_of(row["payload"]).decode()
    text = json.dumps(data, ensure_ascii=False)
    assert BUDI_TEXT not in text and "budi@client.example" not in text


def test_email_owner_reads_only_the_header_block_and_tolerates_purged_rows() -> None:
    _, payload = _email("Dewi <dewi@client.example>", "x" * 1000)
    assert email_owner(payload) == "dewi@client.example"
    assert email_owner({}) is None and email_owner({"raw": "!!"}) is None


ROSTER_DEWI = RosterRow(
    "2021010001", "mahasiswa", "Dewi Lestari", "dewi@student.unr.example", "TI"
)
ROSTER_BUDI = RosterRow(
    "2021010002", "mahasiswa", "Budi Santoso", "budi@student.unr.example", "TI"
)


async def _code_requested(sessions: async_sessionmaker[AsyncSession]) -> tuple[Desk, str]:
    """Dewi, only on the roster, has been mailed a code (not typed yet); Budi too."""
    async with sessions.begin() as session:
        await roster.upsert(session, [ROSTER_DEWI, ROSTER_BUDI])
    desk = Desk(sessions, make_helpdesk(email=EmailRules(address="helpdesk@unr.example")))
    codes = []
    for user, nim in (("111", "2021010001"), ("222", "2021010002")):
        await desk.say("/aktivasi", user=user)
        [mail] = [m for m in await desk.say(nim, user=user) if m.channel == "email"]
        found = re.search(r"<b>(\d{6})</b>", mail.html)
        assert found is not None
        codes.append(found[1])
    return desk, codes[0]


async def test_someone_only_on_the_roster_is_exported_by_email_or_nim(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, code = await _code_requested(sessions)

    async with sessions() as session:
        subjects = [
            await find_subject(session, key)
            for key in ("Dewi@Student.unr.example", "2021010001", "nim:2021010001")
        ]
        data = await export_person(session, None, roster=subjects[0].roster)
        with pytest.raises(PersonNotFound):
            await find_subject(session, "nobody@student.unr.example")
        with pytest.raises(PersonNotFound):
            await find_person(session, "dewi@student.unr.example")  # not a person yet

    assert all(
        s.person is None and [e.number for e in s.roster] == ["2021010001"] for s in subjects
    )
    assert subjects[0].describe() == "roster NIM/NIDN 2021010001"
    assert data["person"] is None
    assert [(r["name"], r["email"]) for r in data["roster"]] == [
        ("Dewi Lestari", "dewi@student.unr.example")
    ]
    [mail] = data["outbox"]
    assert mail["chat_id"] == "dewi@student.unr.example"
    assert mail["payload"]["html"] == HIDDEN and mail["payload"]["subject"]
    [record] = data["activation_codes"]
    assert "code_hash" not in record and "salt" not in record
    assert record["attempts"] == 0 and record["expires_at"]
    assert [i["text"] for i in data["interactions"]] == [
        "[kode aktivasi dikirim ke d***@student.unr.example]"
    ]
    text = json.dumps(data, ensure_ascii=False)
    assert code not in text
    assert "Budi" not in text and "2021010002" not in text and "budi@" not in text


async def test_once_linked_the_roster_export_is_the_persons_with_their_roster_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk, code = await _code_requested(sessions)
    await desk.say(code, user="111")

    async with sessions() as session:
        subject = await find_subject(session, "dewi@student.unr.example")
        by_telegram = await find_person(session, "telegram:111")
        data = await export_person(session, subject.person, roster=subject.roster)
        alone = await export_person(session, by_telegram)

    assert subject.person is not None and subject.person.id == by_telegram.id
    assert data == alone  # the person's own roster row is found from the person too
    assert [r["number"] for r in data["roster"]] == ["2021010001"]
    assert [t["kind"] for t in data["tickets"]] == ["activation"]
    assert {i["external_id"] for i in data["identities"]} == {"111", "dewi@student.unr.example"}
    assert len(data["activation_codes"]) == 1 and len(data["outbox"]) >= 3
    assert "Budi" not in json.dumps(data, ensure_ascii=False)


async def test_a_person_id_that_is_someone_elses_nim_is_refused(
    sessions: async_sessionmaker[AsyncSession], helpdesk: Helpdesk
) -> None:
    await store_updates(sessions, [message(1, DEWI, "Dewi", DEWI_SECRET)])
    decoders = {"telegram": lambda p: decode_update(p, bot_username="unr_helpdesk_bot")}
    await InboundProcessor(sessions, helpdesk, decoders).process_pending()
    long_nim = replace(ROSTER_DEWI, number="2021010001000001", email=None)
    async with sessions.begin() as session:
        dewi = await find_person(session, f"telegram:{DEWI}")
        await roster.upsert(session, [replace(ROSTER_BUDI, number=str(dewi.id)), long_nim])

    async with sessions() as session:
        with pytest.raises(AmbiguousKey, match=f"nim:{dewi.id}"):
            await find_subject(session, str(dewi.id))
        budi = await find_subject(session, f"nim:{dewi.id}")
        # Past the id column's range: only a NIM (PostgreSQL refused it as an id).
        long = await find_subject(session, long_nim.number)

    assert budi.person is None and [e.name for e in budi.roster] == ["Budi Santoso"]
    assert long.person is None and [e.number for e in long.roster] == [long_nim.number]


async def test_purge_keeps_the_roster_code_records_and_the_reports_counts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _code_requested(sessions)
    async with sessions() as session:
        before = (await session.execute(select(Interaction.topic, Interaction.outcome))).all()
    await _age(sessions, days=400)

    async with sessions.begin() as session:
        counts = await purge_before(session, utcnow() - timedelta(days=365))
    async with sessions() as session:
        after = (await session.execute(select(Interaction.topic, Interaction.outcome))).all()
        codes = (await session.scalars(select(ActivationCode))).all()
        subject = await find_subject(session, "2021010001")
        data = await export_person(session, subject.person, roster=subject.roster)

    assert counts.outbox > 0 and counts.interactions > 0
    assert sorted(map(repr, after)) == sorted(map(repr, before))
    assert len(codes) == 2
    assert [r["name"] for r in data["roster"]] == ["Dewi Lestari"]
    [mail] = data["outbox"]
    assert mail["payload"] == {} and mail["last_error"] == PURGED
