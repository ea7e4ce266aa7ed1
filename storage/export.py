"""Exporting the E-learning report as CSV or XLSX, streamed so a year fits in little memory."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.interactions import REPORT_COLUMNS, ReportRow, stream_batches
from storage.xlsx import SheetWriter

FORMATS = ("csv", "xlsx")
SHEET_NAME = "laporan E-learning"
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
        rows = stream_batches(session, since, until)
        if fmt == "csv":
            return await _write_csv(rows, zone, output)
        return await write_xlsx(rows, zone, output)


ReportRows = AsyncIterator[list[ReportRow]]


async def _write_csv(rows: ReportRows, zone: ZoneInfo, output: Path) -> int:
    count = 0
    with output.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        async for batch in rows:
            writer.writerows((_local(row[0], zone), *map(_cell, row[1:])) for row in batch)
            count += len(batch)
    return count


async def write_xlsx(rows: ReportRows, zone: ZoneInfo, output: Path | IO[bytes]) -> int:
    """Stream batches of report rows into an XLSX file or stream; return the rows written.

    Rows go out as they come (see `storage.xlsx`), so memory stays flat however long the
    report, and a year of it is written in seconds.
    """
    with SheetWriter(output, REPORT_COLUMNS, sheet_name=SHEET_NAME) as sheet:
        append = sheet.append
        async for batch in rows:
            for at, channel, direction, name, role, topic, text, ticket, by, outcome in batch:
                # Only names and texts come from people; the other columns are our own words.
                append(
                    (
                        _local(at, zone),
                        channel,
                        direction,
                        _cell(name),
                        role,
                        topic,
                        _cell(text),
                        ticket,
                        _cell(by),
                        outcome,
                    )
                )
        return sheet.rows


def _local(moment: datetime, zone: ZoneInfo) -> str:
    # isoformat is several times faster than strftime; the offset it adds is cut off.
    return moment.astimezone(zone).isoformat(" ", "seconds")[:19]


def _cell(value: str) -> str:
    text = value[:CELL_LIMIT]
    # A leading = + - @ would make a spreadsheet run the user's text as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
