"""`helpdesk roster import FILE`: load the activation roster staff prepared."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from helpdesk import logs
from helpdesk.settings import Settings
from storage.roster import RosterRow

roster_app = typer.Typer(no_args_is_help=True, help="Roster of students and lecturers.")


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: NIM/NIDN, nama, email, prodi, peran")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file.")
    ] = None,
) -> None:
    """Import or update roster rows; bad rows are listed with their line and left out."""
    from handlers.flows.roster_file import RosterFileError, read_roster
    from helpdesk.cli import fail, migrate_or_exit, settings_or_exit

    settings = settings_or_exit(config)
    if not file.is_file():
        fail(f"no file at {file}")
    try:
        good, bad = read_roster(file)
    except RosterFileError as exc:
        fail(str(exc), 1)
    for row in bad:
        typer.echo(f"{file.name}:{row.line}: {row.reason}", err=True)
    logs.configure("WARNING")
    migrate_or_exit(settings)
    added, updated = asyncio.run(_store(settings, good)) if good else (0, 0)
    typer.echo(f"{added} added, {updated} updated, {len(bad)} bad rows left out")
    if bad:
        raise typer.Exit(1)


async def _store(settings: Settings, rows: list[RosterRow]) -> tuple[int, int]:
    from storage import roster
    from storage.database import create_engine, session_factory

    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            return await roster.upsert(session, rows)
    finally:
        await engine.dispose()
