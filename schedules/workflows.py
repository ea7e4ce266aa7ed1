"""Running SOP workflows: start an instance, tell each step's owner, mark steps done,
remind a step past due and escalate it to the staff group past a further threshold."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import Button, Channel
from schedules import outreach
from schedules.config import ScheduleConfig
from schedules.reminders import quiet
from schedules.texts import say
from schedules.workflow_defs import Definitions, Workflow, load, step_hours
from storage import people
from storage.models import Identity, Person, WorkflowInstance

logger = logging.getLogger(__name__)

TOPIC = "alur"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# The subject of an emailed step notice carries `[alur #N.S]` (instance N, step S), so an
# owner's reply names the step it finishes even when the mail client drops the threading.
STEP_TAG = re.compile(r"\[alur #(\d{1,9})\.(\d{1,3})\]")


class WorkflowError(ValueError):
    """A request about a workflow that cannot be done; the message is for staff."""


async def resolve_holder(session: AsyncSession, spec: str) -> Person:
    """The person named by `email@host`, `tg:<telegram user id>` or `#<person id>`."""
    spec = spec.strip()
    if spec.startswith("#") and spec[1:].isdigit():
        person = await session.get(Person, int(spec[1:]))
        if person is None:
            raise WorkflowError(f"tidak ada orang #{spec[1:]}")
        return person
    if spec.startswith("tg:") and spec[3:].lstrip("-").isdigit():
        identity = await people.find_identity(session, Channel.TELEGRAM, spec[3:])
        if identity is None:
            raise WorkflowError(f"{spec} belum pernah menghubungi bot; pakai alamat email")
        return identity.person
    if EMAIL.fullmatch(spec):
        return await _by_email(session, spec.lower())
    raise WorkflowError(f"pemegang {spec!r}: tulis email, tg:ID atau #ID")


async def _by_email(session: AsyncSession, address: str) -> Person:
    identity = await people.find_identity(session, Channel.EMAIL, address)
    if identity is not None:
        return identity.person
    query = select(Person).where(Person.email == address).limit(1)
    found = (await session.scalars(query)).first()
    if found is not None:
        return found
    person = Person(display_name=address, email=address)
    session.add(
        Identity(person=person, channel=Channel.EMAIL, external_id=address, display_name=address)
    )
    await session.flush()
    return person


def _due(workflow: Workflow, step: int, config: ScheduleConfig, start: datetime) -> datetime:
    return start + timedelta(hours=step_hours(workflow, step, config.step_hours))


def _local(moment: datetime, config: ScheduleConfig) -> str:
    return moment.astimezone(config.zone).strftime("%d-%m-%Y %H:%M")


async def start(
    session: AsyncSession,
    config: ScheduleConfig,
    code: str,
    title: str,
    holders: dict[str, Person],
    *,
    by: str,
    now: datetime,
    definitions: Definitions | None = None,
) -> WorkflowInstance:
    """Start workflow `code` for `title`; the first step's owner is told at once."""
    defs = definitions or load()
    workflow = defs.workflows.get(code)
    if workflow is None:
        raise WorkflowError(f"kode alur {code!r} tidak dikenal ({', '.join(defs.workflows)})")
    unknown = sorted(set(holders) - set(defs.roles))
    if unknown:
        raise WorkflowError(f"peran tidak dikenal: {', '.join(unknown)}")
    if not title.strip():
        raise WorkflowError("judul alur kosong")
    instance = WorkflowInstance(
        workflow=code,
        title=title.strip()[:300],
        holders={role: person.id for role, person in holders.items()},
        step=1,
        status="active",
        step_started_at=now,
        step_due_at=_due(workflow, 1, config, now),
        created_by=by,
        created_at=now,
    )
    session.add(instance)
    await session.flush()
    outreach.event(
        session, "workflow_started", f"{code} #{instance.id} {title}", topic=TOPIC, handled_by=by
    )
    await notify_owner(session, config, instance, definitions=defs)
    logger.info("workflow %s #%s started by %s", code, instance.id, by)
    return instance


async def holder_of(session: AsyncSession, instance: WorkflowInstance) -> Person | None:
    """Who holds the current step's role, or None when staff handle it."""
    workflow = load().workflows[instance.workflow]
    role = workflow.step(instance.step).owner
    person_id = instance.holders.get(role)
    return None if person_id is None else await session.get(Person, int(person_id))


async def notify_owner(
    session: AsyncSession,
    config: ScheduleConfig,
    instance: WorkflowInstance,
    *,
    definitions: Definitions | None = None,
) -> None:
    """Tell the current step's owner what to do, with a button to mark it done."""
    defs = definitions or load()
    workflow = defs.workflows[instance.workflow]
    step = workflow.step(instance.step)
    values = _values(defs, workflow, instance, config)
    button = ((Button(say("id", "wf_button_done"), _done_data(instance)),),)
    holder = await holder_of(session, instance)
    if holder is None:
        await outreach.to_staff(
            session, config.staff_chat, say("id", "wf_staff_step", **values), buttons=button
        )
        return
    language = holder.language
    html = say(language, "wf_step", **values) + await _email_hint(session, holder)
    button = ((Button(say(language, "wf_button_done"), _done_data(instance)),),)
    sent = await outreach.to_person(
        session,
        holder,
        html,
        subject=f"{workflow.title}: langkah {step.number} {step_tag(instance)}",
        email=config.sends_email,
        buttons=button,
    )
    if not sent:
        await outreach.to_staff(
            session, config.staff_chat, say("id", "wf_staff_step", **values), buttons=button
        )


_NO_ADDRESS = outreach.Address(Channel.CONSOLE, "")


async def _email_hint(session: AsyncSession, holder: Person) -> str:
    """For an owner reached by email, who cannot press a button: how to mark the step done."""
    if (await outreach.address_of(session, holder) or _NO_ADDRESS).channel != Channel.EMAIL:
        return ""
    return "\n" + say(holder.language, "wf_step_email")


def step_tag(instance: WorkflowInstance) -> str:
    """`[alur #N.S]` for the current step, in the subject of an emailed notice."""
    return f"[alur #{instance.id}.{instance.step}]"


def _done_data(instance: WorkflowInstance) -> str:
    # The step is in the data so a second press (or a stale message) cannot skip a step.
    return f"w:d:{instance.id}:{instance.step}"


def _values(
    defs: Definitions, workflow: Workflow, instance: WorkflowInstance, config: ScheduleConfig
) -> dict[str, object]:
    step = workflow.step(instance.step)
    return {
        "title": instance.title,
        "code": workflow.code,
        "number": instance.id,
        "step": step.number,
        "steps": len(workflow.steps),
        "role": defs.role_name(step.owner),
        "text": step.text,
        "due": _local(instance.step_due_at, config),
    }


async def may_complete(
    session: AsyncSession,
    instance: WorkflowInstance,
    person: Person,
    *,
    email: str | None = None,
) -> bool:
    """Whether `person` holds the current step's role (staff may always complete).

    `email`, the address a reply came from, also counts when it is the holder's: a holder
    found by `Person.email` (the roster) has no email identity, so their mail arrives as
    another person.
    """
    holder = await holder_of(session, instance)
    if holder is None:
        return False
    by_address = email is not None and (holder.email or "").lower() == email.lower()
    return holder.id == person.id or by_address


async def complete(
    session: AsyncSession,
    config: ScheduleConfig,
    instance: WorkflowInstance,
    step: int,
    *,
    by: str,
    now: datetime,
    person: Person | None = None,
) -> bool:
    """Mark `step` done and move on; False when that step is no longer the current one."""
    if instance.status != "active" or instance.step != step:
        return False
    defs = load()
    workflow = defs.workflows[instance.workflow]
    text = f"{workflow.code} #{instance.id} langkah {step} selesai oleh {by}"
    outreach.event(session, "workflow_step_done", text, person=person, topic=TOPIC, handled_by=by)
    if step >= len(workflow.steps):
        instance.status, instance.finished_at = "done", now
        outreach.event(
            session, "workflow_finished", f"{workflow.code} #{instance.id}", topic=TOPIC
        )
        await outreach.to_staff(
            session,
            config.staff_chat,
            say("id", "wf_finished", code=workflow.code, number=instance.id, title=instance.title),
        )
        return True
    instance.step = step + 1
    instance.step_started_at = now
    instance.step_due_at = _due(workflow, instance.step, config, now)
    instance.reminded_at = instance.escalated_at = None
    await notify_owner(session, config, instance, definitions=defs)
    return True


async def active(session: AsyncSession) -> list[WorkflowInstance]:
    """Every running instance, oldest first."""
    query = (
        select(WorkflowInstance)
        .where(WorkflowInstance.status == "active")
        .order_by(WorkflowInstance.id)
    )
    return list((await session.scalars(query)).all())


async def check_overdue(
    sessions: async_sessionmaker[AsyncSession], config: ScheduleConfig, now: datetime
) -> int:
    """Remind the owner of each step past due (once), escalate past the threshold (once).

    Nothing goes out in quiet hours; the marks on the instance keep each notice to one.
    """
    if quiet(config, now):
        return 0
    sent = 0
    async with sessions() as session, session.begin():
        query = select(WorkflowInstance).where(
            WorkflowInstance.status == "active",
            WorkflowInstance.step_due_at <= now,
            or_(WorkflowInstance.reminded_at.is_(None), WorkflowInstance.escalated_at.is_(None)),
        )
        for instance in (await session.scalars(query)).all():
            sent += await _overdue(session, config, instance, now)
    return sent


async def _overdue(
    session: AsyncSession, config: ScheduleConfig, instance: WorkflowInstance, now: datetime
) -> int:
    defs = load()
    workflow = defs.workflows[instance.workflow]
    values = _values(defs, workflow, instance, config)
    sent = 0
    if instance.reminded_at is None:
        instance.reminded_at = now
        holder = await holder_of(session, instance)
        button = ((Button(say("id", "wf_button_done"), _done_data(instance)),),)
        if holder is not None:
            ok = await outreach.to_person(
                session,
                holder,
                say(holder.language, "wf_reminder", **values) + await _email_hint(session, holder),
                subject=f"Pengingat: {workflow.title} {step_tag(instance)}",
                email=config.sends_email,
                buttons=button,
                topic=TOPIC,
            )
        else:
            ok = await outreach.to_staff(
                session, config.staff_chat, say("id", "wf_reminder", **values), buttons=button
            )
        sent += int(ok)
    if instance.escalated_at is None and now >= instance.step_due_at + config.escalate_after:
        instance.escalated_at = now
        holder = await holder_of(session, instance)
        who = holder.display_name if holder else "staf"
        html = say("id", "wf_escalated", holder=who, **values)
        button = ((Button(say("id", "wf_button_done"), _done_data(instance)),),)
        sent += int(await outreach.to_staff(session, config.staff_chat, html, buttons=button))
        text = f"{workflow.code} #{instance.id} langkah {instance.step} dieskalasi ke staf"
        outreach.event(session, "workflow_escalated", text, person=holder, topic=TOPIC)
        logger.warning(
            "workflow %s #%s step %s escalated", workflow.code, instance.id, instance.step
        )
    return sent
