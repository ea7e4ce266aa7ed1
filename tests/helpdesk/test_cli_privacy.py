"""`helpdesk privacy export` and `purge` as real processes."""

from __future__ import annotations

import json

from tests.helpdesk.test_cli import Helpdesk, helpdesk

__all__ = ["helpdesk"]  # the fixture, shared with test_cli


def test_export_then_purge_from_the_command_line(helpdesk: Helpdesk) -> None:
    chat = helpdesk("chat", stdin="/staf nilai saya belum masuk, NIM 2021001\n/keluar\n")
    assert chat.returncode == 0, chat.stderr

    exported = helpdesk("privacy", "export", "--person", "1")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["person"]["id"] == 1
    assert any("NIM 2021001" in t["question"] for t in data["tickets"])

    missing = helpdesk("privacy", "export", "--person", "telegram:42")
    assert missing.returncode == 1 and "nobody matches" in missing.stderr
    assert "Traceback" not in missing.stderr

    kept = helpdesk("privacy", "purge", "--older-than", "30")
    assert kept.returncode == 0, kept.stderr
    assert "interactions 0" in kept.stdout  # nothing is 30 days old yet
    again = json.loads(helpdesk("privacy", "export", "--person", "1").stdout)
    assert again == data


def test_export_finds_someone_who_is_only_on_the_roster(helpdesk: Helpdesk) -> None:
    (helpdesk.cwd / "roster.csv").write_text(
        "NIM;Nama;Email;Prodi;Peran\n"
        "2021010001;Dewi Lestari;dewi@student.unr.example;Teknik Informatika;mahasiswa\n",
        encoding="utf-8",
    )
    imported = helpdesk("roster", "import", "roster.csv")
    assert imported.returncode == 0, imported.stderr

    by_email, by_nim = helpdesk.together(
        (["privacy", "export", "--person", "dewi@student.unr.example", "-o", "dewi.json"], "", {}),
        (["privacy", "export", "--person", "2021010001"], "", {}),
    )

    assert by_email.returncode == 0, by_email.stderr
    assert "data of roster NIM/NIDN 2021010001 written to dewi.json" in by_email.stderr
    data = json.loads((helpdesk.cwd / "dewi.json").read_text(encoding="utf-8"))
    assert data["person"] is None
    assert [(r["name"], r["number"]) for r in data["roster"]] == [("Dewi Lestari", "2021010001")]
    assert by_nim.returncode == 0, by_nim.stderr
    assert json.loads(by_nim.stdout) == data
