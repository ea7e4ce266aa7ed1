"""Exporting the E-learning report as CSV or XLSX, streamed so a year fits in little memory."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.interactions import REPORT_COLUMNS
from storage.report_cells import CELL_LIMIT, Cells, report_cells
from storage.xlsx import SheetWriter

FORMATS = ("csv", "xlsx")
SHEET_NAME = "laporan E-learning"
__all__ = ["CELL_LIMIT", "FORMATS", "export_report", "local_range", "write_xlsx"]


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


async def write_xlsx(cells: AsyncIterator[list[Cells]], output: Path | IO[bytes]) -> int:
    """Stream batches of report cells into an XLSX file or stream; return the rows written.

    Rows go out as they come (see `storage.xlsx`), so memory stays flat however long the
    report, and a year of it is written in seconds.
    """
    with SheetWriter(output, REPORT_COLUMNS, sheet_name=SHEET_NAME) as sheet:
        append = sheet.append
        async for batch in cells:
            for row in batch:
                append(row)
        return sheet.rows
