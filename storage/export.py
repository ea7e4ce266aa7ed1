"""Exporting the E-learning report as CSV or XLSX, streamed so a year fits in little memory."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.interactions import REPORT_COLUMNS, stream_rows

FORMATS = ("csv", "xlsx")
# A spreadsheet cell holds at most 32,767 characters; longer texts are cut, not refused.
CELL_LIMIT = 32_000


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
        rows = stream_rows(session, since, until)
        if fmt == "csv":
            return await _write_csv(rows, zone, output)
        return await write_xlsx(rows, zone, output)


ReportRows = AsyncIterator[tuple[datetime, str, str, str, str, str, str, str, str, str]]


async def _write_csv(rows: ReportRows, zone: ZoneInfo, output: Path) -> int:
    count = 0
    with output.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        async for row in rows:
            writer.writerow((_local(row[0], zone), *(_cell(v) for v in row[1:])))
            count += 1
    return count


async def write_xlsx(rows: ReportRows, zone: ZoneInfo, output: Path | IO[bytes]) -> int:
    """Stream report rows into an XLSX file or binary stream; return the rows written.

    openpyxl's write-only mode writes each row out as it comes (inline strings, no shared
    string table), so memory stays flat however long the report.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("laporan E-learning")
    sheet.append(REPORT_COLUMNS)
    count = 0
    append = sheet.append
    async for row in rows:
        append((_local(row[0], zone), *[_cell(v) for v in row[1:]]))
        count += 1
    workbook.save(output)
    return count


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: str) -> str:
    text = value[:CELL_LIMIT]
    # A leading = + - @ would make a spreadsheet run the user's text as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
