"""`helpdesk training`, `helpdesk workflow` and `helpdesk digest`, run as real processes."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from storage.types import utcnow

from .test_cli import Helpdesk, assert_clean_failure


@pytest.fixture
def helpdesk(tmp_path: Path) -> Helpdesk:
    return Helpdesk(tmp_path)


def _day(days: int) -> str:
    return (utcnow() + timedelta(days=days)).strftime("%Y-%m-%d")


def test_training_add_list_and_minutes(helpdesk: Helpdesk, tmp_path: Path) -> None:
    day = _day(7)
    added = helpdesk(
        "training", "add", "--title", "Moodle dasar", "--start", f"{day} 09:00",
        "--end", f"{day} 12:00", "--place", "https://meet.example/abc", "--capacity", "30",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "training #1 created"

    listed, minutes, bad, nobody, unknown = helpdesk.together(
        (["training", "list"], "", {}),
        (["training", "minutes", "1", "--output", str(tmp_path / "ba.docx")], "", {}),
        (["training", "add", "--title", "X", "--start", "besok", "--end", f"{day} 12:00",
          "--place", "Lab", "--capacity", "3"], "", {}),
        (["training", "participants", "1"], "", {}),
        (["training", "participants", "99"], "", {}),
    )  # fmt: skip
    assert nobody.returncode == 0, nobody.stderr
    assert nobody.stdout == "training #1: no registrations yet\n"
    assert_clean_failure(unknown, "#99")  # as `training minutes 99` says it
    assert "#1" in listed.stdout and "Moodle dasar" in listed.stdout and "0/30" in listed.stdout
    assert minutes.returncode == 0, minutes.stderr
    document = Document(str(tmp_path / "ba.docx"))
    assert any("Moodle dasar" in p.text for p in document.paragraphs)
    assert_clean_failure(bad, "--start", "besok")

    on, wrong = helpdesk.together(
        (["training", "subscribe", "Dosen@UNR.ac.id"], "", {}),
        (["training", "subscribe", "bukan-alamat"], "", {}),
    )
    assert on.stdout.strip() == "Dosen@UNR.ac.id subscribed"
    assert_clean_failure(wrong, "not an email address")


def test_workflow_start_and_list(helpdesk: Helpdesk) -> None:
    started = helpdesk(
        "workflow", "start", "6.C.f", "--title", "Sertifikat MK Statistika",
        "--holder", "dosen=dosen@unr.ac.id", "--holder", "mitra=akademik@univx.ac.id",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    listed, unknown = helpdesk.together(
        (["workflow", "list"], "", {}),
        (["workflow", "start", "6.X", "--title", "x"], "", {}),
    )
    assert "6.C.f\tstep 1 (divisi_layanan)" in listed.stdout
    assert_clean_failure(unknown, "6.X")


def test_digest_preview_writes_the_files(helpdesk: Helpdesk, tmp_path: Path) -> None:
    out = tmp_path / "digest"
    result = helpdesk("digest", "--preview", str(out), "--at", "2026-12-07 07:00")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "digest.html", "digest.txt", "grafik.png", "laporan-elearning-2026-11-30.xlsx"
    ]  # fmt: skip
    sheet = load_workbook(io.BytesIO((out / names[3]).read_bytes()), read_only=True).active
    assert next(iter(sheet.values))[0] == "time"

    no_recipients = helpdesk("digest", "--send")
    assert_clean_failure(no_recipients, "digest.recipients")
    no_smtp = helpdesk("digest", "--send", HELPDESK_DIGEST__RECIPIENTS='["a@unr.ac.id"]')
    assert_clean_failure(no_smtp, "smtp.host")
    neither = helpdesk("digest")
    assert_clean_failure(neither, "--preview")
