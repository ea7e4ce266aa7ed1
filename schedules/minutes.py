"""The minutes (berita acara) of a training as a DOCX, from a text template."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from docx import Document
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.ext.asyncio import AsyncSession

from schedules.config import ScheduleConfig
from schedules.training import TrainingError, participants
from storage.models import Training

TEMPLATE = Path(__file__).with_name("data") / "berita_acara.txt.j2"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
    "September", "Oktober", "November", "Desember",
)  # fmt: skip
MARKS = {True: "Hadir", False: "Tidak hadir", None: "Belum dicatat"}


def _date(moment: datetime) -> str:
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


async def render_text(
    session: AsyncSession,
    config: ScheduleConfig,
    training_id: int,
    now: datetime,
    *,
    template: Path = TEMPLATE,
) -> str:
    """The template filled in for the training (the text the document is laid out from)."""
    training = await session.get(Training, training_id)
    if training is None:
        raise TrainingError(f"pelatihan #{training_id} tidak ditemukan")
    rows = [r for r in await participants(session, training_id) if r.status == "registered"]
    start = training.starts_at.astimezone(config.zone)
    # Autoescape off: the output is laid out as DOCX text, never read as HTML.
    env = Environment(loader=FileSystemLoader(template.parent), autoescape=False)
    return env.get_template(template.name).render(
        title=training.title,
        audience="internal (dosen dan staf UNR)"
        if training.audience == "internal"
        else "eksternal (dosen dan staf non UNR)",
        day=DAYS[start.weekday()],
        date=_date(start),
        start=start.strftime("%H:%M"),
        end=training.ends_at.astimezone(config.zone).strftime("%H:%M"),
        place=training.place,
        capacity=training.capacity,
        registered=len(rows),
        present=sum(1 for r in rows if r.attended),
        people=[
            {
                "name": r.person.display_name.replace("|", "/"),
                "role": r.person.role,
                "mark": MARKS[r.attended],
            }
            for r in rows
        ],
        notes=training.notes,
        today=_date(now.astimezone(config.zone)),
    )


def to_docx(text: str) -> bytes:
    """Lay out the filled template as a Word document."""
    document = Document()
    table_rows: list[list[str]] = []

    def flush_table() -> None:
        if not table_rows:
            return
        width = max(len(r) for r in table_rows)
        table = document.add_table(rows=len(table_rows), cols=width)
        table.style = "Table Grid"
        for i, values in enumerate(table_rows):
            for j, value in enumerate(values):
                table.cell(i, j).text = value
        table_rows.clear()

    for line in text.splitlines():
        if line.startswith("| "):
            table_rows.append([cell.strip() for cell in line[2:].split("|")])
            continue
        flush_table()
        if line.startswith("# "):
            document.add_heading(line[2:], level=0)
        elif line.startswith("## "):
            document.add_heading(line[3:], level=1)
        elif line.strip() == "---":
            document.add_paragraph()
        elif line.strip():
            document.add_paragraph(line)
    flush_table()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def minutes_docx(
    session: AsyncSession, config: ScheduleConfig, training_id: int, now: datetime
) -> bytes:
    """The training's minutes as DOCX bytes."""
    return to_docx(await render_text(session, config, training_id, now))
