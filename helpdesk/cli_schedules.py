"""`helpdesk digest`, `helpdesk training ...` and `helpdesk workflow ...`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpdesk import cli as base
from helpdesk import logs
from helpdesk.settings import Settings

T = TypeVar("T")

training_app = typer.Typer(no_args_is_help=True, help="Training sessions (SOP 6.B).")
workflow_app = typer.Typer(no_args_is_help=True, help="SOP workflows (6.C.f, 6.C.g, 6.D.c).")
STAFF = "cli"


def register(app: typer.Typer) -> None:
    """Add these commands to the main `helpdesk` app."""
    app.command()(digest)
    app.add_typer(training_app, name="training")
    app.add_typer(workflow_app, name="workflow")


def _prepared(config: Path | None) -> Settings:
    settings = base.settings_or_exit(config)
    logs.configure("WARNING")
    base.migrate_or_exit(settings)
    return settings


def _run(
    settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    from storage.database import create_engine, session_factory

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _local_time(option: str, value: str, settings: Settings) -> datetime:
    try:
        moment = datetime.strptime(value, "%Y-%m-%d %H:%M")
    except ValueError:
        base.fail(f"{option} must be a local time like '2026-12-10 09:00' (got {value!r})")
    return moment.replace(tzinfo=settings.zone)


def digest(
    preview: Annotated[
        Path | None, typer.Option("--preview", help="Write the digest's files into DIR")
    ] = None,
    send: Annotated[bool, typer.Option("--send", help="Queue the digest email now")] = False,
    force: Annotated[bool, typer.Option(help="With --send: even if this week's went out")] = False,
    at: Annotated[
        str | None, typer.Option(help="As if run at this local time 'YYYY-MM-DD HH:MM'")
    ] = None,
    config: base.ConfigOption = None,
) -> None:
    """The weekly digest of the past week: preview its files, or send it now."""
    from helpdesk.scheduling import schedule_config
    from schedules import weekly
    from storage.types import utcnow

    if (preview is None) == (not send):
        base.fail("give --preview DIR or --send")
    settings = _prepared(config)
    schedule = schedule_config(settings)
    now = _local_time("--at", at, settings) if at else utcnow()
    if preview is not None:
        written = _run(settings, lambda s: weekly.preview(s, schedule, now, preview))
        for path in written:
            typer.echo(str(path))
        return
    if not schedule.digest_recipients:
        base.fail("digest.recipients is empty: name at least one address")
    if not schedule.sends_email:
        base.fail("the digest goes by email and smtp.host is not set: nothing can be sent")
    if not _run(settings, lambda s: weekly.send(s, schedule, now, force=force)):
        base.fail("this week's digest was already sent (use --force to send it again)", 1)
    typer.echo(f"digest queued to {', '.join(schedule.digest_recipients)}")


@training_app.command("add")
def training_add(
    title: Annotated[str, typer.Option(help="Title of the training")],
    start: Annotated[str, typer.Option(help="Local start 'YYYY-MM-DD HH:MM'")],
    end: Annotated[str, typer.Option(help="Local end 'YYYY-MM-DD HH:MM'")],
    place: Annotated[str, typer.Option(help="Room or video-conference link")],
    capacity: Annotated[int, typer.Option(help="Places")],
    audience: Annotated[str, typer.Option(help="internal or external")] = "internal",
    ticket: Annotated[int | None, typer.Option(help="Answers this training request")] = None,
    config: base.ConfigOption = None,
) -> None:
    """Create a training; subscribers are told, and the requester of --ticket too."""
    from helpdesk.scheduling import schedule_config
    from schedules import training
    from storage.types import utcnow

    settings = _prepared(config)
    schedule = schedule_config(settings)
    starts, ends = _local_time("--start", start, settings), _local_time("--end", end, settings)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session, session.begin():
            made = await training.create(
                session, schedule, title=title, audience=audience, starts_at=starts,
                ends_at=ends, place=place, capacity=capacity, by=STAFF, now=utcnow(),
                ticket_id=ticket,
            )  # fmt: skip
            return made.id

    try:
        number = _run(settings, work)
    except training.TrainingError as exc:
        base.fail(f"training not created: {exc}")
    typer.echo(f"training #{number} created")


@training_app.command("subscribe")
def training_subscribe(
    email: Annotated[str, typer.Argument(help="Address that asked for announcements")],
    config: base.ConfigOption = None,
) -> None:
    """Add (or, run again, remove) an email address to the training announcements."""
    from schedules import training, workflows

    settings = _prepared(config)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> bool:
        async with sessions() as session, session.begin():
            if not workflows.EMAIL.fullmatch(email.strip()):
                raise workflows.WorkflowError(f"{email!r} is not an email address")
            person = await workflows.resolve_holder(session, email)
            return await training.subscribe(session, person)

    try:
        on = _run(settings, work)
    except workflows.WorkflowError as exc:
        base.fail(str(exc))
    typer.echo(f"{email} {'subscribed' if on else 'unsubscribed'}")


@training_app.command("list")
def training_list(config: base.ConfigOption = None) -> None:
    """Upcoming trainings with places taken."""
    from helpdesk.scheduling import schedule_config
    from schedules import training
    from storage.database import reading
    from storage.types import utcnow

    settings = _prepared(config)
    schedule = schedule_config(settings)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
        async with reading(sessions) as session:
            return [
                f"#{t.id}  {training.local(t.starts_at, schedule)}  {t.title}  "
                f"({t.audience}, {taken}/{t.capacity})  {t.place}"
                for t, taken in await training.upcoming(session, utcnow())
            ]

    for line in _run(settings, work) or ["no upcoming training"]:
        typer.echo(line)


@training_app.command("participants")
def training_participants(
    number: Annotated[int, typer.Argument(help="Training number")],
    config: base.ConfigOption = None,
) -> None:
    """Registrations of a training: id, status, attendance, name."""
    from schedules import training
    from storage.database import reading
    from storage.models import Training

    settings = _prepared(config)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
        async with reading(sessions) as session:
            if await session.get(Training, number) is None:
                raise training.TrainingError(f"pelatihan #{number} tidak ditemukan")
            marks = {True: "present", False: "absent", None: "-"}
            return [
                f"{r.id}\t{r.status}\t{marks[r.attended]}\t{r.person.display_name}"
                for r in await training.participants(session, number)
            ]

    try:
        lines = _run(settings, work)
    except training.TrainingError as exc:
        base.fail(str(exc))
    for line in lines or [f"training #{number}: no registrations yet"]:
        typer.echo(line)


@training_app.command("attendance")
def training_attendance(
    number: Annotated[int, typer.Argument(help="Training number")],
    present: Annotated[list[int], typer.Argument(help="Registration ids of who attended")],
    config: base.ConfigOption = None,
) -> None:
    """Record who attended (everyone else registered is marked absent)."""
    from schedules import training

    settings = _prepared(config)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
        async with sessions() as session, session.begin():
            return await training.record_attendance(session, number, set(present), by=STAFF)

    try:
        came, total = _run(settings, work)
    except training.TrainingError as exc:
        base.fail(str(exc))
    typer.echo(f"training #{number}: {came} of {total} attended")


@training_app.command("minutes")
def training_minutes(
    number: Annotated[int, typer.Argument(help="Training number")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="DOCX to write")] = None,
    config: base.ConfigOption = None,
) -> None:
    """The training's minutes (berita acara) as a DOCX document."""
    from helpdesk.scheduling import schedule_config
    from schedules import minutes
    from schedules.training import TrainingError
    from storage.database import reading
    from storage.types import utcnow

    settings = _prepared(config)
    schedule = schedule_config(settings)
    target = output or Path(f"berita-acara-pelatihan-{number}.docx")
    if not target.parent.is_dir():
        base.fail(f"--output: no folder {target.parent} to write {target.name} in")

    async def work(sessions: async_sessionmaker[AsyncSession]) -> bytes:
        async with reading(sessions) as session:
            return await minutes.minutes_docx(session, schedule, number, utcnow())

    try:
        target.write_bytes(_run(settings, work))
    except TrainingError as exc:
        base.fail(str(exc))
    typer.echo(f"minutes written to {target}")


@workflow_app.command("start")
def workflow_start(
    code: Annotated[str, typer.Argument(help="Workflow code: 6.C.f, 6.C.g or 6.D.c")],
    title: Annotated[str, typer.Option(help="What this run is for (course, partner)")],
    holder: Annotated[
        list[str] | None,
        typer.Option(help="role=email, role=tg:<telegram id> or role=#<person id>; repeat"),
    ] = None,
    config: base.ConfigOption = None,
) -> None:
    """Start a workflow; the first step's owner is told at once."""
    from helpdesk.scheduling import schedule_config
    from schedules import workflows
    from storage.types import utcnow

    settings = _prepared(config)
    schedule = schedule_config(settings)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session, session.begin():
            holders = {}
            for item in holder or []:
                role, sep, spec = item.partition("=")
                if not sep:
                    raise workflows.WorkflowError(f"--holder {item!r}: write role=holder")
                holders[role.strip()] = await workflows.resolve_holder(session, spec)
            made = await workflows.start(
                session, schedule, code, title, holders, by=STAFF, now=utcnow()
            )
            return made.id

    try:
        number = _run(settings, work)
    except workflows.WorkflowError as exc:
        base.fail(f"workflow not started: {exc}")
    typer.echo(f"workflow {code} #{number} started")


@workflow_app.command("list")
def workflow_list(config: base.ConfigOption = None) -> None:
    """Running workflows and their current step."""
    from schedules import workflows
    from schedules.workflow_defs import load
    from storage.database import reading

    settings = _prepared(config)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
        defs = load()
        async with reading(sessions) as session:
            lines = []
            for w in await workflows.active(session):
                step = defs.workflows[w.workflow].step(w.step)
                due = w.step_due_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
                lines.append(
                    f"#{w.id}\t{w.workflow}\tstep {w.step} ({step.owner})\t{due}\t{w.title}"
                )
            return lines

    for line in _run(settings, work) or ["no running workflow"]:
        typer.echo(line)
