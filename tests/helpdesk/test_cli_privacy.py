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
