"""`helpdesk lms check`: does the LMS token work, and may it call every function we use?"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

lms_app = typer.Typer(no_args_is_help=True, help="The LMS (Moodle web services).")


@lms_app.command("check")
def check(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (or HELPDESK_CONFIG)."),
    ] = None,
) -> None:
    """Call core_webservice_get_site_info and name any function the service lacks."""
    from helpdesk import logs
    from helpdesk.cli import fail, settings_or_exit
    from helpdesk.settings import Settings

    settings: Settings = settings_or_exit(config)
    logs.configure("ERROR")  # the outcome below says it once, in plain words
    if not settings.lms.enabled:
        fail("lms.url is not set: the helpdesk runs without an LMS (see README, 'The LMS')")
    ok, detail = asyncio.run(_check(settings))
    if not ok:
        fail(f"LMS check failed: {detail}")
    typer.echo(f"LMS check passed: {detail}")


async def _check(settings: object) -> tuple[bool, str]:
    from handlers.lms_check import check_site
    from helpdesk.lms import moodle_client
    from helpdesk.settings import Settings

    assert isinstance(settings, Settings)
    client = moodle_client(settings)
    try:
        result = await check_site(client, timeout=settings.lms.timeout)
    finally:
        await client.close()
    return result.ok, result.detail
