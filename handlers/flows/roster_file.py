"""Reading the activation roster staff prepare (CSV or XLSX) and checking every row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from handlers.flows import fields
from handlers.flows.fields import Invalid
from handlers.flows.texts import text
from storage.roster import RosterRow

# Header names staff may use (case and spacing ignored) for each column.
COLUMNS: dict[str, tuple[str, ...]] = {
    "nim": ("nim", "student number"),
    "nidn": ("nidn",),
    "name": ("nama", "name", "nama lengkap", "full name"),
    "email": ("email", "e-mail", "surel", "alamat email"),
    "programme": ("prodi", "program studi", "programme", "program", "study programme"),
    "role": ("peran", "role", "status"),
}
ROLES = {
    "mahasiswa": "mahasiswa",
    "student": "mahasiswa",
    "mhs": "mahasiswa",
    "dosen": "dosen",
    "lecturer": "dosen",
}


class RosterFileError(Exception):
    """The file cannot be read as a roster at all (format, missing columns)."""


@dataclass(frozen=True)
class BadRow:
    """A row left out, with its line in the file and why."""

    line: int
    reason: str


def read_roster(path: Path) -> tuple[list[RosterRow], list[BadRow]]:
    """The good rows and the bad ones of a .csv or .xlsx roster."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        lines = _xlsx_lines(path)
    elif suffix in (".csv", ".txt"):
        lines = _csv_lines(path)
    else:
        raise RosterFileError(f"{path.name}: use a .csv or .xlsx file (got {suffix or 'none'})")
    return check_rows(lines)


def check_rows(lines: Iterator[tuple[int, list[str]]]) -> tuple[list[RosterRow], list[BadRow]]:
    """Check (line number, cells) rows; the first row is the header."""
    try:
        _, header = next(lines)
    except StopIteration:
        raise RosterFileError("the file is empty") from None
    where = _columns(header)
    good: list[RosterRow] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    for line, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        try:
            row = _row(cells, where)
        except Invalid as problem:
            bad.append(BadRow(line, text("en", problem.key, **problem.values)))
            continue
        if row.number in seen:
            bad.append(BadRow(line, f"{row.number} is also on line {seen[row.number]}"))
            continue
        seen[row.number] = line
        good.append(row)
    return good, bad


def _columns(header: list[str]) -> dict[str, int]:
    names = [" ".join(cell.split()).casefold() for cell in header]
    where: dict[str, int] = {}
    for column, aliases in COLUMNS.items():
        for index, name in enumerate(names):
            if name in aliases:
                where[column] = index
                break
    missing = [c for c in ("name", "role") if c not in where]
    if "nim" not in where and "nidn" not in where:
        missing.append("nim or nidn")
    if missing:
        raise RosterFileError(f"header: no column for {', '.join(missing)} (got {header})")
    return where


def _cell(cells: list[str], where: dict[str, int], column: str) -> str:
    index = where.get(column)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _row(cells: list[str], where: dict[str, int]) -> RosterRow:
    role_cell = _cell(cells, where, "role").casefold()
    role = ROLES.get(role_cell)
    if role is None:
        raise Invalid("bad_role", value=role_cell)
    if role == "dosen":
        number = fields.nidn(_cell(cells, where, "nidn") or _cell(cells, where, "nim"))
    else:
        number = fields.nim(_cell(cells, where, "nim"))
    name = " ".join(_cell(cells, where, "name").split())
    if not 2 <= len(name) <= 200:
        raise Invalid("bad_name", value=name)
    address = _cell(cells, where, "email")
    email = fields.email(address) if address else None
    programme = " ".join(_cell(cells, where, "programme").split())[:200]
    return RosterRow(number=number, role=role, name=name, email=email, programme=programme)


def _csv_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        content = path.read_text(encoding="cp1252")  # an old Excel "CSV" export
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            content[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(content), dialect)
    for cells in reader:
        yield reader.line_num, cells


def _xlsx_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not xlsx
        raise RosterFileError(f"{path.name}: not a readable .xlsx file ({exc})") from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_xlsx_text(value) for value in values]
    finally:
        book.close()


def _xlsx_text(value: object) -> str:
    # A NIM typed into Excel becomes a number; 2021010001.0 must read as 2021010001.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
