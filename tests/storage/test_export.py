"""The E-learning report export: local dates, local times, formula-safe text."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import people, tickets
from storage.export import export_report, write_xlsx
from storage.interactions import REPORT_COLUMNS
from storage.models import Interaction
from storage.report_cells import Cells

pytestmark = pytest.mark.db

Sessions = async_sessionmaker[AsyncSession]
MAKASSAR = ZoneInfo("Asia/Makassar")  # UTC+8, no daylight saving

# (moment in UTC, text): local dates are 9, 10, 10, 10, 11 March.
SEEDED = [
    (datetime(2026, 3, 9, 15, 59, 59, tzinfo=UTC), "kemarin"),
    (datetime(2026, 3, 9, 16, 0, 0, tzinfo=UTC), '=HYPERLINK("http://x")'),
    (datetime(2026, 3, 10, 4, 0, 0, tzinfo=UTC), "+62 811 000"),
    (datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC), "@here -1 0x00"),
    (datetime(2026, 3, 10, 16, 0, 0, tzinfo=UTC), "besok"),
]
EXPECTED_DAY = [
    ("2026-03-10 00:00:00", '\'=HYPERLINK("http://x")'),
    ("2026-03-10 12:00:00", "'+62 811 000"),
    ("2026-03-10 23:59:59", "'@here -1 0x00"),
]


@pytest.fixture
async def seeded(sessions: Sessions) -> Sessions:
    async with sessions() as session:
        person = (await people.identify(session, "telegram", "1", "-Ani")).person
        person.role = "student"
        ticket = await tickets.open_ticket(
            session,
            requester_id=person.id,
            channel="telegram",
            chat_id="1",
            question="?",
            topic="login",
        )
        # Inserted out of time order: the report sorts by time, not by id.
        for at, text in reversed(SEEDED):
            session.add(
                Interaction(
                    at=at,
                    channel="telegram",
                    direction="in",
                    person_id=person.id,
                    role=person.role,
                    topic="login",
                    text=text,
                    ticket_id=ticket.id,
                    handled_by="bot",
                    outcome="answered",
                )
            )
        await session.commit()
    return sessions


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def _read_xlsx(path: Path) -> list[list[object]]:
    workbook = load_workbook(path, read_only=True)
    try:
        sheet = workbook["laporan E-learning"]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_one_local_day(seeded: Sessions, tmp_path: Path, fmt: str) -> None:
    output = tmp_path / f"report.{fmt}"
    day = date(2026, 3, 10)

    count = await export_report(seeded, day, day, MAKASSAR, output, fmt=fmt)

    rows = _read_csv(output) if fmt == "csv" else _read_xlsx(output)
    assert count == 3
    assert tuple(rows[0]) == REPORT_COLUMNS
    assert [(row[0], row[6]) for row in rows[1:]] == EXPECTED_DAY
    assert rows[1] == [
        "2026-03-10 00:00:00",
        "telegram",
        "in",
        "'-Ani",
        "student",
        "login",
        '\'=HYPERLINK("http://x")',
        "#1",
        "bot",
        "answered",
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_several_local_days(seeded: Sessions, tmp_path: Path, fmt: str) -> None:
    output = tmp_path / f"report.{fmt}"

    count = await export_report(
        seeded, date(2026, 3, 9), date(2026, 3, 11), MAKASSAR, output, fmt=fmt
    )

    rows = _read_csv(output) if fmt == "csv" else _read_xlsx(output)
    assert count == len(SEEDED) == len(rows) - 1
    assert [row[0] for row in rows[1:]] == [
        "2026-03-09 23:59:59",
        "2026-03-10 00:00:00",
        "2026-03-10 12:00:00",
        "2026-03-10 23:59:59",
        "2026-03-11 00:00:00",
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_empty_range_writes_only_the_header(
    seeded: Sessions, tmp_path: Path, fmt: str
) -> None:
    output = tmp_path / f"report.{fmt}"
    day = date(2026, 1, 1)

    count = await export_report(seeded, day, day, MAKASSAR, output, fmt=fmt)

    rows = _read_csv(output) if fmt == "csv" else _read_xlsx(output)
    assert count == 0
    assert [tuple(row) for row in rows] == [REPORT_COLUMNS]


async def test_unknown_format_is_refused(sessions: Sessions, tmp_path: Path) -> None:
    day = date(2026, 3, 10)
    with pytest.raises(ValueError, match="format"):
        await export_report(sessions, day, day, MAKASSAR, tmp_path / "r.pdf", fmt="pdf")


async def _batches(rows: list[tuple[str, ...]], *, size: int = 2) -> AsyncIterator[list[Cells]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


def _row(text: str) -> tuple[str, ...]:
    return ("2026-03-10 00:00:00", "telegram", "in", "Ani", "", "", text, "", "bot", "answered")


async def test_xlsx_keeps_texts_and_drops_what_xml_cannot_carry() -> None:
    texts = [
        "a < b & c > d",
        "  spasi di depan ",
        "emoji 🙂 dan ümlaut",
        '"kutip"',
        "bel\x07 tab\t baris\nbaru \x1b[31m",
        "surrogate \ud800 sendiri",
        "'=1+1",
    ]
    buffer = io.BytesIO()

    count = await write_xlsx(_batches([_row(t) for t in texts]), buffer)

    book = load_workbook(buffer)
    sheet = book["laporan E-learning"]
    rows = list(sheet.values)
    assert count == len(texts) and book.sheetnames == ["laporan E-learning"]
    assert rows[0] == REPORT_COLUMNS and sheet["A1"].font.b and not sheet["A2"].font.b
    assert [row[6] for row in rows[1:]] == [
        "a < b & c > d",
        "  spasi di depan ",
        "emoji 🙂 dan ümlaut",
        '"kutip"',
        "bel tab\t baris\nbaru [31m",
        "surrogate  sendiri",
        "'=1+1",
    ]
    # Nothing is a formula, even the guarded text, and empty cells stay empty text.
    assert all(cell.data_type == "s" for cell in sheet[len(texts) + 1])
    assert rows[1][4] == ""


async def test_xlsx_goes_on_in_another_sheet_past_the_row_limit(tmp_path: Path) -> None:
    output = tmp_path / "laporan.xlsx"

    count = await write_xlsx(
        _batches([_row(str(n)) for n in range(7)], size=3), output, sheet_rows=3
    )

    book = load_workbook(output, read_only=True)
    try:
        names = book.sheetnames
        texts = [[row[6] for row in book[name].iter_rows(values_only=True)] for name in names]
    finally:
        book.close()
    assert count == 7
    assert names == ["laporan E-learning", "laporan E-learning 2", "laporan E-learning 3"]
    column = REPORT_COLUMNS[6]
    assert texts == [[column, "0", "1", "2"], [column, "3", "4", "5"], [column, "6"]]
    assert [p.name for p in tmp_path.iterdir()] == ["laporan.xlsx"]


async def test_xlsx_sheets_have_filters_a_fixed_header_and_readable_widths(
    tmp_path: Path,
) -> None:
    output = tmp_path / "laporan.xlsx"

    await write_xlsx(_batches([_row(str(n)) for n in range(5)]), output, sheet_rows=3)

    book = load_workbook(output)
    first, second = book.worksheets
    assert (first.auto_filter.ref, second.auto_filter.ref) == ("A1:J4", "A1:J3")
    assert first.freeze_panes == second.freeze_panes == "A2"
    text_column = "ABCDEFGHIJ"[REPORT_COLUMNS.index("text")]
    assert first.column_dimensions[text_column].width > 50


async def test_failed_xlsx_export_leaves_no_file(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[list[Cells]]:
        yield [_row("satu")]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        await write_xlsx(broken(), tmp_path / "laporan.xlsx")

    assert list(tmp_path.iterdir()) == []


async def test_many_rows_stream_in_order() -> None:
    buffer = io.BytesIO()
    rows = [_row(str(n)) for n in range(5000)]

    count = await write_xlsx(_batches(rows, size=1000), buffer)

    book = load_workbook(buffer, read_only=True)
    try:
        texts = [row[6] for row in book["laporan E-learning"].iter_rows(values_only=True)]
    finally:
        book.close()
    assert count == 5000 and texts[1:] == [str(n) for n in range(5000)]
