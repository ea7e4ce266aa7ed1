"""The weekly digest: figures against seeded rows, the queued email's parts, once a week."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from handlers.delivery import from_payload
from schedules import weekly
from schedules.config import ScheduleConfig
from schedules.digest import compute, week_before
from schedules.runner import Scheduler
from storage.database import reading
from storage.models import Interaction, Ticket, Training, WorkflowInstance

from .helpers import STAFF_CHAT, WITA, FakeClock, Sessions, local, outbox, telegram_person

pytestmark = pytest.mark.db

CONFIG = ScheduleConfig(
    staff_chat=STAFF_CHAT,
    digest_recipients=("kepala@unr.ac.id", "b@unr.ac.id"),
    sends_email=True,
)
MONDAY = "2026-12-07 07:00"  # the digest covers Mon 30 Nov .. Sun 6 Dec, local days


def _row(
    at: str, channel: str, direction: str, topic: str | None, role: str | None
) -> Interaction:
    return Interaction(
        at=local(at),
        channel=channel,
        direction=direction,
        topic=topic,
        role=role,
        text=f"{topic} {at}",
        handled_by="bot",
        outcome="answered",
    )


SEED = [
    # Outside the week on both sides: not counted.
    ("2026-11-29 23:59", "telegram", "in", "login", "mahasiswa"),
    ("2026-12-07 00:00", "telegram", "in", "login", "mahasiswa"),
    # Inside.
    ("2026-11-30 00:00", "telegram", "in", "login", "mahasiswa"),
    ("2026-11-30 08:00", "telegram", "out", "login", "mahasiswa"),
    ("2026-11-30 09:00", "email", "in", "enrollment", "dosen"),
    ("2026-12-02 10:00", "telegram", "in", "login", "dosen"),
    ("2026-12-02 10:01", "telegram", "in", None, None),
    ("2026-12-06 23:59", "email", "in", "pelatihan", "mitra"),
    ("2026-12-03 11:00", "system", "event", "alur", None),  # an event, not a message
]


async def _seed(sessions: Sessions) -> None:
    ani = await telegram_person(sessions, "111", "Ani")
    async with sessions() as session, session.begin():
        session.add_all(_row(*r) for r in SEED)

        def ticket(created: str, **times: str | None) -> Ticket:
            values = {k: (local(v) if v else None) for k, v in times.items()}
            status = "closed" if values.get("closed_at") else "open"
            return Ticket(
                requester_id=ani.id,
                channel="telegram",
                chat_id="111",
                question="?",
                status=status,
                created_at=local(created),
                **values,
            )

        session.add_all(
            [
                # Opened and closed in the week: response 1 h, close 5 h.
                ticket(
                    "2026-12-01 08:00",
                    first_response_at="2026-12-01 09:00",
                    closed_at="2026-12-01 13:00",
                ),
                # Opened in the week, answered after 3 h, still open, not old.
                ticket("2026-12-05 08:00", first_response_at="2026-12-05 11:00"),
                # Opened before the week, closed in it after 3 days: response outside.
                ticket(
                    "2026-11-28 10:00",
                    first_response_at="2026-11-28 11:00",
                    closed_at="2026-12-01 10:00",
                ),
                # Older than three days and still open.
                ticket("2026-11-20 10:00"),
            ]
        )
        session.add(
            WorkflowInstance(
                workflow="6.C.f",
                title="Sertifikat MK Statistika",
                holders={},
                step=2,
                step_due_at=local("2026-12-04 10:00"),
            )
        )
        session.add(
            Training(
                title="Moodle dasar",
                audience="internal",
                starts_at=local("2026-12-09 09:00"),
                ends_at=local("2026-12-09 12:00"),
                place="Lab 1",
                capacity=20,
            )
        )
        session.add(
            Training(
                title="Terlalu jauh",
                audience="internal",
                starts_at=local("2026-12-20 09:00"),
                ends_at=local("2026-12-20 12:00"),
                place="Lab 1",
                capacity=20,
            )
        )


async def test_figures_match_the_seeded_week(sessions: Sessions) -> None:
    await _seed(sessions)
    period = week_before(local(MONDAY), WITA)
    async with reading(sessions) as session:
        f = await compute(session, period)

    assert f.by_channel == {"telegram": 4, "email": 2}
    assert f.by_topic == {"login": 2, "(tanpa topik)": 1, "enrollment": 1, "pelatihan": 1}
    assert f.by_role == {"dosen": 2, "mahasiswa": 1, "mitra": 1, "unknown": 1}
    days = list(f.per_day)
    assert days[0].isoformat() == "2026-11-30" and len(days) == 7
    assert f.per_day[days[0]] == {"telegram": 2, "email": 1}
    assert f.per_day[days[2]] == {"telegram": 2}
    assert f.per_day[days[6]] == {"email": 1}
    assert (f.tickets_opened, f.tickets_closed, f.tickets_open, f.tickets_old) == (2, 2, 2, 1)
    assert f.median_first_response == timedelta(hours=2)  # of 1 h and 3 h
    assert f.median_close == timedelta(hours=(5 + 72) / 2)
    assert [(s.workflow, s.step) for s in f.overdue] == [("6.C.f", 2)]
    assert [t.title for t in f.trainings] == ["Moodle dasar"]


async def test_digest_email_parts_and_once_a_week(sessions: Sessions) -> None:
    await _seed(sessions)
    clock = FakeClock(local(MONDAY))
    scheduler = Scheduler(sessions, CONFIG, clock=clock)

    assert await scheduler.digest() is True
    clock.moment = local("2026-12-07 07:05")
    assert await scheduler.digest() is False  # the same week again: refused

    mails = [from_payload(m) for m in await outbox(sessions)]
    assert [m.chat_id for m in mails] == ["kepala@unr.ac.id", "b@unr.ac.id"]
    mail = mails[0]
    assert mail.channel == "email"
    assert mail.subject == "Ringkasan mingguan Helpdesk E-learning 30-11-2026 s.d. 06-12-2026"
    assert "Pesan: 6 (telegram 4, email 2)" in mail.html
    assert mail.email_html is not None and 'src="cid:chart"' in mail.email_html
    chart, sheet = mail.files
    assert (chart.mime_type, chart.inline_id) == ("image/png", "chart")
    assert chart.data.startswith(b"\x89PNG")
    assert sheet.name == "laporan-elearning-2026-11-30.xlsx" and sheet.inline_id is None
    rows = list(load_workbook(io.BytesIO(sheet.data), read_only=True).active.values)
    assert len(rows) == 1 + 7  # header + the week's rows, events included
    assert rows[1][0] == "2026-11-30 00:00:00"


async def test_without_email_the_digest_is_neither_queued_nor_counted_as_sent(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    await _seed(sessions)
    telegram_only = replace(CONFIG, sends_email=False)

    assert (
        await Scheduler(sessions, telegram_only, clock=FakeClock(local(MONDAY))).digest() is False
    )

    assert await outbox(sessions) == []
    assert "no email transport" in caplog.text
    # Once SMTP is set up, this week's digest still goes out.
    assert await Scheduler(sessions, CONFIG, clock=FakeClock(local(MONDAY))).digest() is True


async def test_missed_digest_is_sent_once_after_restart(sessions: Sessions) -> None:
    # Case C35 (shared/cases/scenarios), t2 and variant Q: due while down, sent once.
    await _seed(sessions)
    # Down from Mon 06:55 to 09:40: each start catches up; only the first sends.
    for _ in range(3):
        scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-07 09:40")))
        await scheduler.catch_up()
    assert len(await outbox(sessions)) == 2  # one per recipient
    # The cron job firing late the same week (APScheduler misfire) changes nothing.
    assert await scheduler.digest() is False


async def test_digest_past_its_grace_is_not_sent_late(sessions: Sessions) -> None:
    # Case C35, variant S.
    # Three weeks down: no pile of old digests; the next Monday's goes out as usual.
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-09 10:00")))
    await scheduler.catch_up()
    assert await outbox(sessions) == []


async def test_preview_writes_the_same_files(sessions: Sessions, tmp_path: Path) -> None:
    await _seed(sessions)
    written = await weekly.preview(sessions, CONFIG, local(MONDAY), tmp_path)
    names = sorted(p.name for p in written)
    assert names == [
        "digest.html",
        "digest.txt",
        "grafik.png",
        "laporan-elearning-2026-11-30.xlsx",
    ]
    assert 'src="grafik.png"' in (tmp_path / "digest.html").read_text()
    assert "Tiket: 2 dibuka, 2 ditutup" in (tmp_path / "digest.txt").read_text()


async def test_late_digest_past_midnight_reports_the_week_it_was_due_for(
    sessions: Sessions,
) -> None:
    await _seed(sessions)
    # Due Mon 07:00, service back only on Tuesday 05:00: still last week, sent once.
    scheduler = Scheduler(sessions, CONFIG, clock=FakeClock(local("2026-12-08 05:00")))
    await scheduler.catch_up()
    mails = [from_payload(m) for m in await outbox(sessions)]
    assert len(mails) == 2
    assert mails[0].subject is not None and "30-11-2026 s.d. 06-12-2026" in mails[0].subject
