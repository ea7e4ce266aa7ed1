"""Exporting the E-learning report as CSV or XLSX, streamed so a year fits in little memory."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.interactions import REPORT_COLUMNS
from storage.report_cells import CELL_LIMIT, Cells, report_cells

FORMATS = ("csv", "xlsx")
SHEET_NAME = "laporan E-learning"
# A sheet holds 1,048,576 rows; past that (header included) the report goes on in another.
SHEET_ROWS = 1_048_575
__all__ = ["CELL_LIMIT", "FORMATS", "SHEET_NAME", "export_report", "local_range", "write_xlsx"]

# Characters XML 1.0 cannot carry: XlsxWriter would write control characters as _xHHHH_
# escapes and fail on lone surrogates, so they are dropped, as the CSV keeps them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Every cell is text already guarded against formulas (storage.report_cells): XlsxWriter
# must not turn any of it into a formula, number or link. constant_memory writes each row
# out as soon as the next one starts, with inline strings, so memory stays flat.
_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
# Rows written between two returns to the event loop (the digest runs in the service's).
_YIELD_EVERY = 500


def local_range(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From the start of `start` to the end of `end`, local days, as aware datetimes."""
    return (
        datetime.combine(start, time.min, zone),
        datetime.combine(end + timedelta(days=1), time.min, zone),
    )


async def export_report(
    sessions: async_sessionmaker[AsyncSession],
    start: date,
    end: date,
    zone: ZoneInfo,
    output: Path,
    *,
    fmt: str = "csv",
) -> int:
    """Write the report for local dates start..end (inclusive) to `output`; return the rows."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    since, until = local_range(start, end, zone)
    async with sessions() as session:
        cells = report_cells(session, since, until, zone)
        if fmt == "csv":
            return await _write_csv(cells, output)
        return await write_xlsx(cells, output)


async def _write_csv(cells: AsyncIterator[list[Cells]], output: Path) -> int:
    count = 0
    with output.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        async for batch in cells:
            writer.writerows(batch)
            count += len(batch)
    return count


def _xml_safe(row: Cells) -> Cells:
    # One search per row, not per cell: almost no row holds such a character.
    if _NOT_XML.search("".join(row)) is None:
        return row
    return [_NOT_XML.sub("", value) for value in row]


async def write_xlsx(
    cells: AsyncIterator[list[Cells]],
    output: Path | IO[bytes],
    *,
    sheet_rows: int = SHEET_ROWS,
) -> int:
    """Stream batches of report cells into an XLSX file or stream; return the rows written.

    XlsxWriter in constant-memory mode keeps one row at a time. A file is assembled in a
    scratch folder beside it and moved into place at the end, so a failed export leaves no
    half-written report behind. More than `sheet_rows` rows continue on further sheets.
    """
    with tempfile.TemporaryDirectory(
        prefix=".xlsx-", dir=output.parent if isinstance(output, Path) else None
    ) as scratch:
        assembled = Path(scratch, "report.xlsx")
        book = xlsxwriter.Workbook(
            str(assembled) if isinstance(output, Path) else output,
            {**_OPTIONS, "tmpdir": scratch},
        )
        try:
            count = await _fill(book, cells, sheet_rows)
        finally:
            # Also on failure: closing releases the row files kept in the scratch folder.
            book.close()
        if isinstance(output, Path):
            os.replace(assembled, output)
    return count


async def _fill(book: Any, cells: AsyncIterator[list[Cells]], sheet_rows: int) -> int:
    bold = book.add_format({"bold": True})
    sheets: list[Any] = []
    row = sheet_rows  # no sheet yet: the first row opens one
    count = 0
    async for batch in cells:
        for cells_row in batch:
            if row >= sheet_rows:
                _finish(sheets, row)
                sheets.append(_new_sheet(book, len(sheets) + 1, bold))
                row = 0
            row += 1
            _write_row(sheets[-1], row, _xml_safe(cells_row))
            count += 1
            if count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
    if not sheets:
        sheets.append(_new_sheet(book, 1, bold))
        row = 0
    _finish(sheets, row)
    return count


# Characters a column shows before it is cut (staff can widen it); the rest fit their header.
_WIDTHS = {"time": 17, "person": 24, "topic": 20, "text": 60, "handled_by": 18, "outcome": 12}


def _new_sheet(book: Any, number: int, bold: Any) -> Any:
    """A sheet with the header row, readable widths, and the header kept in view."""
    sheet = book.add_worksheet(SHEET_NAME if number == 1 else f"{SHEET_NAME} {number}")
    for column, name in enumerate(REPORT_COLUMNS):
        sheet.set_column(column, column, _WIDTHS.get(name, max(len(name) + 2, 9)))
    sheet.freeze_panes(1, 0)
    _write_row(sheet, 0, REPORT_COLUMNS, bold)
    return sheet


def _finish(sheets: list[Any], last_row: int) -> None:
    """Filter buttons on the last sheet's header, over the rows it got."""
    if sheets:
        sheets[-1].autofilter(0, 0, last_row, len(REPORT_COLUMNS) - 1)


def _write_row(sheet: Any, row: int, values: Sequence[str], style: Any = None) -> None:
    write = sheet.write_string
    for column, value in enumerate(values):
        write(row, column, value, style)
