"""The `helpdesk` command: run the service, migrate, check the knowledge base, export."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from handlers.redact import redact
from helpdesk import logs
from helpdesk.cli_lms import lms_app
from helpdesk.cli_roster import roster_app
from helpdesk.settings import (
    ConfigError,
    Settings,
    hide_password,
    load_settings,
    secret_values,
)

if TYPE_CHECKING:
    from storage.migrate import SchemaChange

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
kb_app = typer.Typer(no_args_is_help=True, help="Knowledge base.")
app.add_typer(db_app, name="db")
app.add_typer(kb_app, name="kb")
app.add_typer(lms_app, name="lms")
app.add_typer(roster_app, name="roster")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (or HELPDESK_CONFIG)."),
]

NO_TOKEN = """telegram.token is not set.
Create a bot with @BotFather in Telegram (/newbot), then give its token:
  export HELPDESK_TELEGRAM__TOKEN='123456:ABC...'
or put `token = "..."` under [telegram] in the file given with --config.
To try the helpdesk without Telegram, run: helpdesk chat"""


def fail(message: str, status: int = 2) -> NoReturn:
    """Print one clear message and exit."""
    typer.echo(f"helpdesk: {message}", err=True)
    raise typer.Exit(status)


def settings_or_exit(config: Path | None) -> Settings:
    """The settings, or exit 2 naming what is wrong."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        fail(str(exc))


def built_or_exit(settings: Settings, factory: Callable[[Settings], T]) -> T:
    """`factory(settings)`, or exit 2 when the knowledge base it loads has problems."""
    from handlers.knowledge import KnowledgeBaseError

    try:
        return factory(settings)
    except KnowledgeBaseError as exc:
        fail(f"kb_path: the knowledge base has problems (see `helpdesk kb check`):\n{exc}")


def migrate_or_exit(settings: Settings) -> SchemaChange:
    """Apply migrations; a database that cannot be reached is a clear error, not a trace."""
    from storage.migrate import MigrationError, upgrade

    try:
        return upgrade(settings.database_url)
    except MigrationError as exc:
        fail(f"database_url: {exc}")
    except Exception as exc:
        fail(f"database_url: cannot migrate the database ({_reason(exc)})", 1)


def _reason(exc: Exception) -> str:
    # SQLAlchemy wraps the driver's error and adds a second line linking its docs: the
    # driver's own first line is the part that says what is wrong.
    cause = getattr(exc, "orig", None)
    shown = cause if isinstance(cause, Exception) else exc
    lines = str(shown).strip().splitlines() or [""]
    return hide_password(f"{type(shown).__name__}: {lines[0]}")


@app.command()
def run(config: ConfigOption = None) -> None:
    """Migrate the database and run the helpdesk on Telegram."""
    settings = settings_or_exit(config)
    logs.configure(settings.log_level, secrets=secret_values(settings))
    if settings.telegram.token is None:
        fail(NO_TOKEN)
    if settings.telegram.mode == "webhook" and not (
        settings.telegram.webhook_url and settings.telegram.secret_token
    ):
        fail(
            "telegram.mode is webhook: telegram.webhook_url and telegram.secret_token "
            "must both be set"
        )
    migrate_or_exit(settings)

    from telegram.error import InvalidToken, NetworkError

    from helpdesk.app import Service, freeze_start_up_objects

    service = built_or_exit(settings, Service)
    freeze_start_up_objects()
    try:
        asyncio.run(service.run())
    except InvalidToken:
        # A 404 from something that is not the Bot API (a proxy, a typo in base_url) comes
        # back as InvalidToken too, so the token alone is not to blame.
        fail(
            f"telegram.token was refused, or telegram.base_url ({_base_url(settings)}) is not "
            "a Telegram Bot API; check the token with @BotFather and the address",
            1,
        )
    except NetworkError as exc:
        fail(
            f"cannot reach Telegram at telegram.base_url ({_base_url(settings)}): "
            f"{redact(exc.message)}; check the network or proxy",
            1,
        )
    except KeyboardInterrupt:
        pass


def _base_url(settings: Settings) -> str:
    # PTB appends the token to base_url; this is the address as configured, and should
    # someone have written the token into it, the registered secrets are blanked.
    return redact(hide_password(settings.telegram.base_url))


@app.command(hidden=True)
def deliver() -> None:
    """Internal: the sending process `helpdesk run` starts (settings arrive on stdin)."""
    from helpdesk.delivery import deliver as run_delivery
    from helpdesk.delivery import read_settings

    settings = read_settings()
    logs.configure(settings.log_level, secrets=secret_values(settings))
    asyncio.run(run_delivery(settings))


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply all database migrations."""
    settings = settings_or_exit(config)
    logs.configure("WARNING")
    typer.echo(migrate_or_exit(settings).describe())


@kb_app.command("check")
def kb_check(
    path: Annotated[Path | None, typer.Argument(help="KB file (default: configured)")] = None,
    config: ConfigOption = None,
) -> None:
    """Validate the knowledge base; problems are listed with file and line."""
    from handlers.knowledge import DEFAULT_KB_PATH, check

    target = path or settings_or_exit(config).kb_path or DEFAULT_KB_PATH
    problems = check(target)
    for problem in problems:
        typer.echo(f"{problem.file}:{problem.line}: {problem.message}")
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{target}: OK")


@kb_app.command("eval")
def kb_eval(
    tsv: Annotated[Path, typer.Argument(help="TSV with columns topic, question")],
    config: ConfigOption = None,
) -> None:
    """Accuracy, confusions and every miss on a set of questions."""
    from handlers.evaluation import evaluate, format_report, read_tsv
    from helpdesk.app import build_helpdesk

    helpdesk = built_or_exit(settings_or_exit(config), build_helpdesk)
    try:
        rows = read_tsv(tsv)
    except (OSError, ValueError) as exc:
        fail(str(exc), 1)
    typer.echo(format_report(evaluate(helpdesk.answers.matcher, rows)))


@app.command()
def ask(
    text: Annotated[str | None, typer.Argument(help="The question")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON line per stdin line")] = False,
    config: ConfigOption = None,
) -> None:
    """What the helpdesk would answer, without storing anything."""
    from helpdesk.app import build_helpdesk
    from helpdesk.ask import answer_json

    settings = settings_or_exit(config)
    helpdesk = built_or_exit(settings, build_helpdesk)
    if jsonl:
        for line in sys.stdin:
            typer.echo(json.dumps(answer_json(helpdesk, line.rstrip("\n")), ensure_ascii=False))
        return
    if text is None:
        fail("give a question, or --jsonl to read questions from standard input")
    result = answer_json(helpdesk, text)
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else result["answer"])


@app.command()
def chat(config: ConfigOption = None) -> None:
    """Talk to the helpdesk in the terminal (channel `console`), no Telegram needed."""
    settings = settings_or_exit(config)
    # Warnings meant for an operator (no staff group set, ...) would land between the lines
    # of the conversation; errors still show.
    logs.configure("ERROR")
    migrate_or_exit(settings)
    from helpdesk.app import build_helpdesk
    from helpdesk.console import run_console

    helpdesk = built_or_exit(settings, build_helpdesk)
    try:
        asyncio.run(run_console(settings, helpdesk))
    except KeyboardInterrupt:
        typer.echo()
        raise typer.Exit(130) from None


@app.command()
def report(
    date_from: Annotated[str, typer.Option("--from", help="First local date, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="Last local date, YYYY-MM-DD")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or xlsx (default: the file's extension)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Export the E-learning report for a range of local dates."""
    settings = settings_or_exit(config)
    start, end = _date("--from", date_from), _date("--to", date_to)
    if end < start:
        fail("--to is before --from")
    fmt = _report_format(output, fmt)
    logs.configure("WARNING")
    migrate_or_exit(settings)
    count = asyncio.run(_export(settings, start, end, output, fmt))
    typer.echo(f"{count} rows written to {output}")


def _report_format(output: Path, fmt: str | None) -> str:
    """--format, or the one the file name asks for; exit 2 when they disagree or neither says."""
    from storage.export import FORMATS

    if output.is_dir():
        fail(f"--output: {output} is a folder; give a file such as {output / 'laporan.xlsx'}")
    if not output.parent.is_dir():
        fail(f"--output: no folder {output.parent} to write {output.name} in")
    # The export writes a scratch file beside the output, then renames it: both need the
    # folder. (Root passes this check whatever the modes, so the tests cannot show it.)
    if not os.access(output.parent, os.W_OK | os.X_OK) or (
        output.exists() and not os.access(output, os.W_OK)
    ):
        fail(f"--output: no permission to write {output}")
    if fmt is not None and fmt not in FORMATS:
        fail(f"--format must be csv or xlsx (got {fmt!r})")
    extension = output.suffix.lower().removeprefix(".")
    if fmt is None and extension not in FORMATS:
        fail(f"--output {output.name} is not named .csv or .xlsx; pass --format csv or xlsx")
    if fmt is not None and extension in FORMATS and extension != fmt:
        fail(f"--format {fmt} does not match --output {output.name}; leave --format out")
    return fmt or extension


async def _export(settings: Settings, start: date, end: date, output: Path, fmt: str) -> int:
    from storage.database import create_engine, session_factory
    from storage.export import export_report

    engine = create_engine(settings.database_url)
    try:
        return await export_report(
            session_factory(engine), start, end, settings.zone, output, fmt=fmt
        )
    finally:
        await engine.dispose()


def _date(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-12-01 (got {value!r})")


def main() -> None:
    """Console-script entry point."""
    from helpdesk import cli_privacy

    app.add_typer(cli_privacy.app, name="privacy")
    app()


from helpdesk import cli_schedules  # noqa: E402  (digest, training, workflow; needs the above)

cli_schedules.register(app)
