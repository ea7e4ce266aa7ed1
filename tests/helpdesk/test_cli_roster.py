"""`helpdesk roster import` as a real process: bad rows named by line, good rows stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from storage.database import create_engine, session_factory
from storage.models import RosterEntry
from tests.helpdesk.test_cli import Helpdesk

ROSTER = """NIM;NIDN;Nama;Email;Prodi;Peran
2021010001;;Dewi Lestari;dewi@student.unr.example;Teknik Informatika;mahasiswa
12;;Nomor Pendek;x@unr.example;Manajemen;mahasiswa
2021010003;;Tanpa Email;;Manajemen;mahasiswa
;0012345678;Budi Santoso;budi@unr.example;Teknik Sipil;dosen
;12345;NIDN Pendek;p@unr.example;Teknik Sipil;dosen
2021010004;;Email Rusak;rusak@;Manajemen;mahasiswa
2021010005;;Peran Aneh;a@unr.example;Manajemen;tamu
2021010001;;Dewi Dua Kali;dewi2@unr.example;Teknik Informatika;mahasiswa
"""


def rows(database: Path) -> dict[str, RosterEntry]:
    async def load() -> dict[str, RosterEntry]:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with session_factory(engine)() as session:
                found = (await session.scalars(select(RosterEntry))).all()
                return {entry.number: entry for entry in found}
        finally:
            await engine.dispose()

    return asyncio.run(load())


def test_csv_import_reports_bad_rows_and_keeps_good_ones(tmp_path: Path) -> None:
    helpdesk = Helpdesk(tmp_path)
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")

    result = helpdesk("roster", "import", "roster.csv")

    assert result.returncode == 1, result.stderr
    assert "3 added, 0 updated, 5 bad rows left out" in result.stdout
    errors = result.stderr.splitlines()
    assert [line.split(":")[1] for line in errors] == ["3", "6", "7", "8", "9"]
    assert "NIM «12»" in errors[0]
    assert "exactly 10 digits" in errors[1]
    assert "not a complete email address" in errors[2]
    assert "role «tamu»" in errors[3]
    assert "also on line 2" in errors[4]
    stored = rows(tmp_path / "x.sqlite3")
    assert set(stored) == {"2021010001", "2021010003", "0012345678"}
    assert stored["0012345678"].role == "dosen"
    assert stored["2021010003"].email is None


def test_xlsx_reimport_updates_rows(tmp_path: Path) -> None:
    helpdesk = Helpdesk(tmp_path)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NIM", "Nama", "Email", "Program Studi", "Role"])
    sheet.append([2021010001, "Dewi", "dewi@student.unr.example", "Teknik Informatika", "student"])
    book.save(tmp_path / "roster.xlsx")
    assert helpdesk("roster", "import", "roster.xlsx").returncode == 0

    sheet.append([2021010002, "Made", "made@student.unr.example", "Manajemen", "mahasiswa"])
    sheet["C2"] = "dewi.baru@student.unr.example"
    book.save(tmp_path / "roster.xlsx")
    result = helpdesk("roster", "import", "roster.xlsx")

    assert result.returncode == 0, result.stderr
    assert "1 added, 1 updated, 0 bad rows left out" in result.stdout
    stored = rows(tmp_path / "x.sqlite3")
    assert stored["2021010001"].email == "dewi.baru@student.unr.example"
    assert stored["2021010002"].programme == "Manajemen"


def test_unreadable_files_get_one_clear_message(tmp_path: Path) -> None:
    helpdesk = Helpdesk(tmp_path)
    (tmp_path / "roster.pdf").write_bytes(b"%PDF")
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    (tmp_path / "noheader.csv").write_text("a,b\n1,2\n")

    pdf, fake, header, missing = helpdesk.together(
        (["roster", "import", "roster.pdf"], "", {}),
        (["roster", "import", "fake.xlsx"], "", {}),
        (["roster", "import", "noheader.csv"], "", {}),
        (["roster", "import", "nothere.csv"], "", {}),
    )

    assert "use a .csv or .xlsx file" in pdf.stderr and pdf.returncode == 1
    assert "not a readable .xlsx file" in fake.stderr
    assert "no column for name, role, nim or nidn" in header.stderr
    assert "no file at nothere.csv" in missing.stderr and missing.returncode == 2
    assert "Traceback" not in pdf.stderr + fake.stderr + header.stderr + missing.stderr
