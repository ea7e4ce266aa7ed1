"""The LMS staff buttons and the cari_mk questions, channel-free: what gets queued."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.config import HelpdeskConfig
from handlers.knowledge import KnowledgeBase
from handlers.lms_port import LmsConfig
from handlers.matching import Matcher
from handlers.messages import Inbound
from handlers.service import Helpdesk
from handlers.tickets import card_buttons
from storage import people, tickets
from storage.models import LmsJob, OutboxMessage
from tests.handlers.test_service import STAFF_CHAT, STAFF_ID, handle, staff_says, user_says

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def desk(kb: KnowledgeBase, *, lms: bool = True) -> Helpdesk:
    config = HelpdeskConfig(
        staff_ids={"telegram": frozenset({STAFF_ID})},
        staff_chat=("telegram", STAFF_CHAT),
        lms=LmsConfig(url="https://lms.example") if lms else None,
    )
    return Helpdesk(config, kb, Matcher(kb))


async def request(sessions: async_sessionmaker[AsyncSession], kind: str | None) -> int:
    async with sessions.begin() as session:
        identity = await people.identify(session, "telegram", "222", "Made")
        ticket = await tickets.open_ticket(
            session,
            requester_id=identity.person.id,
            channel="telegram",
            chat_id="222",
            question="permohonan",
            topic=None,
        )
        ticket.kind, ticket.details = kind, {"course_code": "IF201", "classes": ["A"]}
        return ticket.id


def press(data: str) -> Inbound:
    """A staff member presses a button in the staff group."""
    return staff_says(callback=data, callback_ref="q1")


async def callback_answers(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [r.payload["html"] for r in rows if r.payload["purpose"] == "callback_answer"]


async def jobs(sessions: async_sessionmaker[AsyncSession]) -> list[LmsJob]:
    async with sessions() as session:
        return list((await session.scalars(select(LmsJob).order_by(LmsJob.id))).all())


async def test_lms_buttons_only_on_lms_requests_and_only_with_an_lms(
    sessions: async_sessionmaker[AsyncSession], kb: KnowledgeBase
) -> None:
    numbers = [await request(sessions, k) for k in ("course_creation", "enrollment", None)]
    async with sessions() as session:
        found = [await tickets.get_ticket(session, n) for n in numbers]
    with_lms, without = desk(kb).config, desk(kb, lms=False).config
    data = [[b.data for row in card_buttons(t, config=with_lms) for b in row] for t in found if t]
    assert data[0][-1] == f"l:c:{numbers[0]}" and data[1][-1] == f"l:e:{numbers[1]}"
    assert not any(d.startswith("l:") for d in data[2])
    assert found[0] is not None
    assert not any(b.data.startswith("l:") for r in card_buttons(found[0]) for b in r)
    assert not any(
        b.data.startswith("l:") for r in card_buttons(found[0], config=without) for b in r
    )


async def test_a_press_queues_one_job_and_a_second_press_waits(
    sessions: async_sessionmaker[AsyncSession], kb: KnowledgeBase
) -> None:
    helpdesk = desk(kb)
    number = await request(sessions, "course_creation")
    await handle(sessions, helpdesk, press(f"l:c:{number}"))
    await handle(sessions, helpdesk, press(f"l:c:{number}"))

    [job] = await jobs(sessions)
    assert (job.action, job.ticket_id, job.status) == ("create", number, "pending")
    assert await callback_answers(sessions) == [
        "Diproses di LMS…",
        "Tindakan ini sedang diproses.",
    ]


@pytest.mark.parametrize(
    ("kind", "data", "answer"),
    [
        ("enrollment", "l:c:{n}", "bukan permintaan"),
        ("course_creation", "l:e:{n}", "bukan permintaan"),
        ("course_creation", "l:c:999", "bukan permintaan"),
        ("course_creation", "l:x:{n}", ""),
    ],
)
async def test_wrong_buttons_queue_nothing(
    sessions: async_sessionmaker[AsyncSession],
    kb: KnowledgeBase,
    kind: str,
    data: str,
    answer: str,
) -> None:
    number = await request(sessions, kind)
    await handle(sessions, desk(kb), press(data.format(n=number)))
    assert await jobs(sessions) == []
    [said] = await callback_answers(sessions)
    assert answer in said


async def test_without_an_lms_the_button_says_so_and_cari_mk_answers_from_the_kb(
    sessions: async_sessionmaker[AsyncSession], kb: KnowledgeBase
) -> None:
    helpdesk = desk(kb, lms=False)
    number = await request(sessions, "course_creation")
    await handle(sessions, helpdesk, press(f"l:c:{number}"))
    assert "belum disetel" in (await callback_answers(sessions))[0]

    queued = await handle(sessions, helpdesk, user_says("mata kuliah saya tidak ada di LMS"))
    assert "muncul di LMS setelah prosesnya selesai" in queued[0].payload["html"]
    assert await jobs(sessions) == []


async def test_cari_mk_asks_for_what_is_missing_then_queues_the_look_up(
    sessions: async_sessionmaker[AsyncSession], kb: KnowledgeBase
) -> None:
    helpdesk = desk(kb)
    queued = await handle(sessions, helpdesk, user_says("matkul IF201 tidak muncul di LMS"))
    assert "email atau username LMS" in queued[0].payload["html"]
    assert await jobs(sessions) == []

    assert await handle(sessions, helpdesk, user_says("nim saya 2201010001")) == []
    [job] = await jobs(sessions)
    assert job.action == "lookup"
    assert {k: job.payload[k] for k in ("code", "field", "value")} == {
        "code": "IF201",
        "field": "username",
        "value": "2201010001",
    }
