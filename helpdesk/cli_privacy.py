"""`helpdesk privacy`: export one person's data, purge texts past the retention period."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from helpdesk import logs
from helpdesk.cli import ConfigOption, fail, migrate_or_exit, settings_or_exit
from helpdesk.settings import Settings
from storage.types import utcnow

app = typer.Typer(no_args_is_help=True, help="Personal data (UU PDP 27/2022).")


@app.command("export")
def export(
    person: Annotated[
        str,
        typer.Option(
            "--person",
            help="Person id, channel address (telegram:12345), email address or NIM/NIDN",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Everything the helpdesk holds about one person, as JSON."""
    settings = settings_or_exit(config)
    logs.configure("WARNING")
    migrate_or_exit(settings)
    whom, data = asyncio.run(_export(settings, person))
    text = json.dumps(data, ensure_ascii=False, indent=1, default=str)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"data of {whom} written to {output}", err=True)


async def _export(settings: Settings, key: str) -> tuple[str, dict[str, Any]]:
    from storage.database import create_engine, session_factory
    from storage.privacy import AmbiguousKey, PersonNotFound, export_person, find_subject

    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            try:
                found = await find_subject(session, key)
            except PersonNotFound:
                fail(
                    f"--person: nobody matches {key!r} "
                    "(an id, telegram:ID, an email or a NIM/NIDN of the roster)",
                    1,
                )
            except AmbiguousKey as problem:
                fail(f"--person: {problem}", 1)
            data = await export_person(session, found.person, roster=found.roster)
            return found.describe(), data
    finally:
        await engine.dispose()


@app.command("purge")
def purge(
    older_than: Annotated[
        int | None,
        typer.Option("--older-than", min=1, help="Days to keep (default: privacy.retention_days)"),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Remove message texts and attachments older than DAYS; keep the report's counts."""
    settings = settings_or_exit(config)
    logs.configure("WARNING")
    migrate_or_exit(settings)
    days = older_than or settings.privacy.retention_days
    counts = asyncio.run(_purge(settings, days))
    parts = ", ".join(f"{name} {n}" for name, n in vars(counts).items())
    typer.echo(f"purged texts older than {days} days: {parts}")


async def _purge(settings: Settings, days: int) -> Any:
    from storage.database import create_engine, session_factory
    from storage.privacy import purge_before

    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            return await purge_before(session, utcnow() - timedelta(days=days))
    finally:
        await engine.dispose()
