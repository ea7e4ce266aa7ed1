"""The training minutes (berita acara) as a DOCX built from the template."""

from __future__ import annotations

import io

import pytest
from docx import Document

from schedules import minutes, training
from schedules.config import ScheduleConfig

from .helpers import Sessions, local, telegram_person

pytestmark = pytest.mark.db

CONFIG = ScheduleConfig()


async def test_minutes_list_the_attendance(sessions: Sessions) -> None:
    ani = await telegram_person(sessions, "1", "Ani | Dosen")
    budi = await telegram_person(sessions, "2", "Budi")
    async with sessions() as session, session.begin():
        made = await training.create(
            session, CONFIG, title="Moodle dasar", audience="internal",
            starts_at=local("2026-12-10 09:00"), ends_at=local("2026-12-10 12:00"),
            place="Lab Komputer 1", capacity=10, by="staf", now=local("2026-12-01 09:00"),
        )  # fmt: skip
        seats = []
        for person in (ani, budi):
            merged = await session.merge(person)
            await training.register(session, CONFIG, made, merged, local("2026-12-01 09:00"))
        seats = [r.id for r in await training.participants(session, made.id)]
        await training.record_attendance(session, made.id, {seats[0]}, by="staf")
    async with sessions() as session:
        data = await minutes.minutes_docx(session, CONFIG, made.id, local("2026-12-10 13:00"))

    document = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "BERITA ACARA PELATIHAN" in text
    assert "Kamis, tanggal 10 Desember 2026, pukul 09:00 s.d. 12:00 WITA" in text
    assert "Peserta terdaftar: 2 orang; hadir: 1 orang" in text
    attendance = document.tables[0]
    rows = [[c.text for c in row.cells] for row in attendance.rows]
    assert rows[0] == ["No", "Nama", "Peran", "Kehadiran"]
    assert rows[1] == ["1", "Ani / Dosen", "unknown", "Hadir"]
    assert rows[2] == ["2", "Budi", "unknown", "Tidak hadir"]


async def test_unknown_training_is_a_clear_error(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(training.TrainingError, match="#99 tidak ditemukan"):
            await minutes.minutes_docx(session, CONFIG, 99, local("2026-12-10 13:00"))
