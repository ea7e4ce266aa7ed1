"""The `helpdesk` command, run as a real process: exit codes, stdout and stderr."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from alembic import command
from alembic.script import ScriptDirectory
from openpyxl import load_workbook

from handlers.knowledge import DEFAULT_KB_PATH
from storage.interactions import REPORT_COLUMNS
from storage.migrate import alembic_config
from tests.mailservers.dovecot import free_port

EXECUTABLE = Path(sys.executable).with_name("helpdesk")
KNOWN = "bagaimana cara aktivasi akun kuliah online?"
OUT_OF_SCOPE = "resep nasi goreng yang enak apa ya"

Result = subprocess.CompletedProcess[str]
Call = tuple[list[str], str, dict[str, str]]


class Helpdesk:
    """Runs `helpdesk ARGS` in tmp_path with no HELPDESK_* of the caller, on a fresh SQLite."""

    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        self.env["HELPDESK_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"
        self.command = [str(EXECUTABLE)]
        if not EXECUTABLE.exists():  # not installed as a script: run the same entry point
            self.command = [sys.executable, "-c", "from helpdesk.cli import main; main()"]

    def __call__(self, *args: str, stdin: str = "", **env: str) -> Result:
        return self.together((list(args), stdin, env))[0]

    def together(self, *calls: Call) -> list[Result]:
        """Several independent runs side by side: each start costs about a second."""
        processes = [
            (
                args,
                stdin,
                subprocess.Popen(
                    [*self.command, *args],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    cwd=self.cwd,
                    env={**self.env, **env},
                ),
            )
            for args, stdin, env in calls
        ]
        results = []
        for args, stdin, process in processes:
            stdout, stderr = process.communicate(stdin, timeout=60)
            results.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
        return results


@pytest.fixture
def helpdesk(tmp_path: Path) -> Helpdesk:
    return Helpdesk(tmp_path)


def assert_clean_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2 with one `helpdesk:` message that says what is wrong, and no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("helpdesk: ")
    assert result.stderr.count("helpdesk: ") == 1
    for needle in needles:
        assert needle in result.stderr


def test_start_up_errors_exit_2_with_one_message(helpdesk: Helpdesk) -> None:
    no_token, empty_token, bad_port, no_secret, no_file = helpdesk.together(
        (["run"], "", {}),
        (["run"], "", {"HELPDESK_TELEGRAM__TOKEN": ""}),
        (
            ["run"],
            "",
            {"HELPDESK_TELEGRAM__PORT": "99999", "HELPDESK_TELEGRAM__TOKEN": "1:SEKRET"},
        ),
        (
            ["run"],
            "",
            {
                "HELPDESK_TELEGRAM__TOKEN": "1:abc",
                "HELPDESK_TELEGRAM__MODE": "webhook",
                "HELPDESK_TELEGRAM__WEBHOOK_URL": "https://helpdesk.example/tg",
            },
        ),
        (["run", "--config", "nowhere.toml"], "", {}),
    )

    assert_clean_failure(no_token, "telegram.token", "BotFather")
    assert empty_token.stderr == no_token.stderr  # empty is unset, not a token to try
    assert_clean_failure(bad_port, "telegram.port")
    assert "SEKRET" not in bad_port.stderr
    assert_clean_failure(no_secret, "telegram.secret_token")
    assert_clean_failure(no_file, "nowhere.toml")


def assert_one_line_failure(result: Result, *needles: str) -> None:
    """Exit 1 ending in one `helpdesk:` line (log lines may come first), no traceback."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.count("helpdesk: ") == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("helpdesk: ")
    for needle in needles:
        assert needle in last


async def test_a_wrong_base_url_is_named_and_the_token_never_shown(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404)  # a proxy's empty 404, not the Bot API's JSON

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    not_the_api = f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    nobody = f"http://127.0.0.1:{free_port()}/bot"
    token = "123456:SEKRET-token-value"
    try:
        refused, unreachable = await asyncio.to_thread(
            helpdesk.together,
            *(
                (
                    ["run"],
                    "",
                    {
                        "HELPDESK_TELEGRAM__TOKEN": token,
                        "HELPDESK_TELEGRAM__BASE_URL": base_url,
                        "HELPDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}",
                    },
                )
                for base_url, name in ((not_the_api, "a.sqlite3"), (nobody, "b.sqlite3"))
            ),
        )
    finally:
        await runner.cleanup()

    assert_one_line_failure(refused, "telegram.token", f"telegram.base_url ({not_the_api})")
    # The migration at start-up is one INFO line, without alembic's own chatter.
    assert refused.stderr.count("INFO storage.migrate: database created at revision") == 1
    assert "alembic" not in refused.stderr
    assert_one_line_failure(unreachable, f"telegram.base_url ({nobody})")
    assert "SEKRET" not in refused.stderr + unreachable.stderr


def test_ask(helpdesk: Helpdesk) -> None:
    questions = [KNOWN, OUT_OF_SCOPE, "saya lupa password akun e-learning"]

    known, out_of_scope, jsonl = helpdesk.together(
        (["ask", "--json", KNOWN], "", {}),
        (["ask", "--json", OUT_OF_SCOPE], "", {}),
        (["ask", "--jsonl"], "\n".join(questions) + "\n", {}),
    )

    assert known.returncode == 0, known.stderr
    answer = json.loads(known.stdout)
    assert set(answer) == {"topic", "confidence", "escalate", "answer"}
    assert answer["topic"] == "aktivasi_akun"
    assert isinstance(answer["confidence"], float)
    assert 0 <= answer["confidence"] <= 1
    assert answer["escalate"] is False
    assert isinstance(answer["answer"], str)
    assert "aktivasi" in answer["answer"]

    assert out_of_scope.returncode == 0, out_of_scope.stderr
    answer = json.loads(out_of_scope.stdout)
    assert answer["topic"] is None
    assert answer["escalate"] is True
    assert 0 <= answer["confidence"] <= 1
    assert answer["answer"]

    assert jsonl.returncode == 0, jsonl.stderr
    lines = jsonl.stdout.splitlines()
    assert len(lines) == 3
    answers = [json.loads(line) for line in lines]
    assert [a["topic"] for a in answers] == ["aktivasi_akun", None, "lupa_password"]
    assert all(set(a) == {"topic", "confidence", "escalate", "answer"} for a in answers)


def test_kb_check(helpdesk: Helpdesk, tmp_path: Path) -> None:
    lines = DEFAULT_KB_PATH.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines) if text.strip() == "action: answer")
    lines[line] = lines[line].replace("answer", "jawab")
    broken = tmp_path / "kb.yaml"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    shipped, result = helpdesk.together(
        (["kb", "check"], "", {}), (["kb", "check", str(broken)], "", {})
    )

    assert shipped.returncode == 0, shipped.stdout
    assert "OK" in shipped.stdout
    assert result.returncode == 1
    assert f"{broken}:{line + 1}: " in result.stdout
    assert "jawab" in result.stdout


def test_kb_eval(helpdesk: Helpdesk, tmp_path: Path) -> None:
    tsv = tmp_path / "eval.tsv"
    tsv.write_text(
        "topic\tquestion\n"
        f"aktivasi_akun\t{KNOWN}\n"
        "lupa_password\tsaya lupa password akun e-learning\n"
        f"aktivasi_akun\t{OUT_OF_SCOPE}\n",
        encoding="utf-8",
    )

    result = helpdesk("kb", "eval", str(tsv))

    assert result.returncode == 0, result.stderr
    assert "questions: 3" in result.stdout
    assert "accuracy: 66.7%" in result.stdout
    assert OUT_OF_SCOPE in result.stdout  # the miss is listed


def test_chat_then_db_upgrade_then_report(helpdesk: Helpdesk, tmp_path: Path) -> None:
    database = tmp_path / "x.sqlite3"
    upgraded = helpdesk("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert database.is_file()

    chat = helpdesk("chat", stdin="halo\n/tiket\n/keluar\nnot read\n")
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count("helpdesk> ") == 2
    assert "belum punya tiket" in chat.stdout
    assert "not read" not in chat.stdout

    # A day either side, so a run across local midnight still finds the rows.
    today = datetime.now(ZoneInfo("Asia/Makassar")).date()
    start, end = str(today - timedelta(days=1)), str(today + timedelta(days=1))
    reports = helpdesk.together(
        *(
            (
                ["report", "--from", start, "--to", end, "--format", fmt, "-o", f"report.{fmt}"],
                "",
                {},
            )
            for fmt in ("csv", "xlsx")
        )
    )
    for result in reports:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("4 rows")

    with (tmp_path / "report.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == REPORT_COLUMNS
    assert [row[6] for row in rows[1:] if row[2] == "in"] == ["halo", "/tiket"]

    workbook = load_workbook(tmp_path / "report.xlsx", read_only=True)
    try:
        header, *data = workbook.active.iter_rows(values_only=True)
    finally:
        workbook.close()
    assert tuple(header) == REPORT_COLUMNS
    assert len(data) == 4


def test_report_rejects_bad_dates(helpdesk: Helpdesk, tmp_path: Path) -> None:
    backwards, not_a_date = helpdesk.together(
        (["report", "--from", "2026-02-01", "--to", "2026-01-01", "-o", "r.csv"], "", {}),
        (["report", "--from", "2026-13-01", "--to", "2026-12-01", "-o", "r.csv"], "", {}),
    )

    assert_clean_failure(backwards, "--to")
    assert_clean_failure(not_a_date, "--from", "2026-13-01")
    assert not (tmp_path / "r.csv").exists()


def test_report_format_follows_the_output_name(helpdesk: Helpdesk, tmp_path: Path) -> None:
    dates = ["report", "--from", "2026-01-01", "--to", "2026-01-31"]

    written = helpdesk(*dates, "-o", "laporan.xlsx")

    assert written.returncode == 0, written.stderr
    assert (tmp_path / "laporan.xlsx").read_bytes().startswith(b"PK")  # a zip: XLSX, not CSV
    folder, contradicts, unknown, bad_format = helpdesk.together(
        ([*dates, "-o", str(tmp_path)], "", {}),
        ([*dates, "-o", "r.xlsx", "--format", "csv"], "", {}),
        ([*dates, "-o", "r.txt"], "", {}),
        ([*dates, "-o", "r.csv", "--format", "pdf"], "", {}),
    )
    assert_clean_failure(folder, "--output", "is a folder")
    assert_clean_failure(contradicts, "--format csv", "r.xlsx")
    assert_clean_failure(unknown, "r.txt", "--format")
    assert_clean_failure(bad_format, "--format", "pdf")
    assert not (tmp_path / "r.xlsx").exists() and not (tmp_path / "r.txt").exists()


def test_a_database_that_cannot_work_is_one_line(helpdesk: Helpdesk, tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "x.sqlite3"
    clashing = tmp_path / "clash.sqlite3"
    with closing(sqlite3.connect(clashing)) as connection:
        connection.execute("CREATE TABLE people (x)")  # the first migration's table, taken

    no_folder, run, clash = helpdesk.together(
        (["db", "upgrade"], "", {"HELPDESK_DATABASE_URL": f"sqlite:///{missing}"}),
        (
            ["run"],
            "",
            {"HELPDESK_DATABASE_URL": f"sqlite:///{missing}", "HELPDESK_TELEGRAM__TOKEN": "1:abc"},
        ),
        (["db", "upgrade"], "", {"HELPDESK_DATABASE_URL": f"sqlite:///{clashing}"}),
    )

    assert_clean_failure(no_folder, "database_url", str(missing), "no folder")
    assert no_folder.stderr.count("\n") == 1
    assert run.stderr == no_folder.stderr  # at INFO too: no alembic lines before it
    assert clash.returncode == 1
    assert clash.stderr.startswith("helpdesk: database_url: cannot migrate the database (")
    assert "people already exists" in clash.stderr
    assert clash.stderr.count("\n") == 1  # no SQLAlchemy background link, no thread's trace


def test_db_upgrade_says_what_it_did(helpdesk: Helpdesk, tmp_path: Path) -> None:
    url = helpdesk.env["HELPDESK_DATABASE_URL"]
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config(url)).get_revision(head).down_revision
    assert isinstance(previous, str)

    created, again = helpdesk("db", "upgrade"), helpdesk("db", "upgrade")
    command.downgrade(alembic_config(url), previous)
    upgraded = helpdesk("db", "upgrade")

    assert created.stdout == f"database created at revision {head}\n", created.stderr
    assert again.stdout == f"database already up to date ({head})\n", again.stderr
    assert upgraded.stdout == f"database upgraded from {previous} to {head}\n", upgraded.stderr
