"""The streaming XLSX writer: a file spreadsheets open, every text as it was written."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from storage.xlsx import SheetWriter


def _read(data: bytes) -> tuple[str, list[tuple[object, ...]], bool]:
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert sheet is not None
    return sheet.title, list(sheet.values), bool(sheet["A1"].font.b)


def test_texts_round_trip_with_markup_and_spaces() -> None:
    buffer = io.BytesIO()
    texts = ["a < b & c > d", "  spasi di depan", "emoji 🙂 dan ümlaut", "", '"kutip"']
    with SheetWriter(buffer, ["kolom", "lain"], sheet_name="laporan E-learning") as sheet:
        for text in texts:
            sheet.append((text, "x"))

    title, rows, bold = _read(buffer.getvalue())
    assert title == "laporan E-learning"
    assert rows[0] == ("kolom", "lain") and bold
    assert [r[0] or "" for r in rows[1:]] == texts
    assert sheet.rows == len(texts)


def test_characters_xml_cannot_carry_are_dropped_not_fatal() -> None:
    buffer = io.BytesIO()
    with SheetWriter(buffer, ["t"]) as sheet:
        sheet.append(("bel\x07 tab\t baris\nbaru \x1b[31m",))

    _, rows, _ = _read(buffer.getvalue())
    assert rows[1] == ("bel tab\t baris\nbaru [31m",)


def test_many_rows_stream_in_order() -> None:
    buffer = io.BytesIO()
    with SheetWriter(buffer, ["n"]) as sheet:
        for n in range(5000):
            sheet.append((str(n),))

    _, rows, _ = _read(buffer.getvalue())
    assert len(rows) == 5001
    assert rows[-1] == ("4999",)
