"""A streaming XLSX writer for long, text-only sheets (the E-learning report).

openpyxl's write-only mode builds a Cell object and an lxml element per value; measured
here it wrote 2,000-4,000 report rows a second, so a year (a million rows) took minutes.
This writer emits the sheet's XML as text straight into the zip stream: one sheet, every
cell an inline string, a header row in bold. That is all the report needs; anything
richer (formats, formulas, several sheets) belongs to openpyxl.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

# Characters XML 1.0 cannot carry at all (a spreadsheet would refuse the file).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FLUSH_ROWS = 2000

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData>"
)
_SHEET_END = "</sheetData></worksheet>"


# Whether a value needs any work before it goes into the XML (most do not).
_SPECIAL = re.compile("[<>&\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: str) -> str:
    return escape(_NOT_XML.sub("", value)) if _SPECIAL.search(value) else value


def _cell(value: str, style: str = "") -> str:
    return f'<c t="inlineStr"{style}><is><t xml:space="preserve">{_clean(value)}</t></is></c>'


# A row is its cells joined by one constant string: far cheaper than a format per cell.
_OPEN = '<c t="inlineStr"><is><t xml:space="preserve">'
_BETWEEN = "</t></is></c>" + _OPEN
_CLOSE = "</t></is></c></row>"


class SheetWriter:
    """One sheet of text cells under a bold header, streamed into an XLSX file.

    Use as a context manager: rows appended go out in chunks; leaving the block finishes
    the file (an exception leaves an unfinished file the caller should discard).
    """

    def __init__(
        self, target: Path | IO[bytes], header: Sequence[str], *, sheet_name: str = "Sheet1"
    ) -> None:
        self.rows = 0
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        z = self._zip
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet_name[:31])))
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        self._sheet = z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        head = "".join(_cell(v, ' s="1"') for v in header)
        self._sheet.write(f'{_SHEET_START}<row r="1">{head}</row>'.encode())
        self._pending: list[str] = []

    def append(self, row: Sequence[str]) -> None:
        """Add one row of text values."""
        self.rows += 1
        # One search per row (not per cell): most rows need no escaping at all.
        if _SPECIAL.search("".join(row)):
            cells = _BETWEEN.join(map(_clean, row))
        else:
            cells = _BETWEEN.join(row)
        self._pending.append(f'<row r="{self.rows + 1}">{_OPEN}{cells}{_CLOSE}')
        if len(self._pending) >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._sheet.write("".join(self._pending).encode())
        self._pending.clear()

    def close(self) -> None:
        """Finish the sheet and the file."""
        self._flush()
        self._sheet.write(_SHEET_END.encode())
        self._sheet.close()
        self._zip.close()

    def __enter__(self) -> SheetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
            return
        self._sheet.close()
        self._zip.close()
