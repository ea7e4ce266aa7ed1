"""SOP workflows in the chat: /alur, the "mark done" button (w:d:<id>:<step>), a SELESAI reply."""

from __future__ import annotations

import logging
import re

from handlers import email_staff, stored_files
from handlers import texts as helpdesk_texts
from handlers import tickets as ticket_flow
from handlers.markup import shorten
from handlers.messages import Channel
from handlers.turn import Turn
from schedules import workflows
from schedules.config import ScheduleConfig
from schedules.texts import say
from schedules.workflow_defs import load
from storage.models import Person, WorkflowInstance
from storage.types import utcnow

logger = logging.getLogger(__name__)

TOPIC = workflows.TOPIC
# The first word, past any punctuation, emoji, quotes, bold stars or invisible marks (a BOM,
# a zero-width space); "Selesai?" asks rather than says, and "Belum selesai" begins otherwise.
_DONE = re.compile(r"[\W_]*(?:selesai|done)(?!\w)(?!\s*\?)", re.IGNORECASE)


async def command(turn: Turn, args: str, config: ScheduleConfig) -> None:
    """`/alur`, `/alur mulai ...`, `/alur selesai N` (staff only)."""
    if not turn.is_staff:
        await ticket_flow.refuse(turn, "/alur")
        return
    verb, _, rest = args.strip().partition(" ")
    if verb == "mulai":
        await _start(turn, rest, config)
    elif verb == "selesai" and rest.strip().lstrip("#").isdigit():
        await _done_by_staff(turn, int(rest.strip().lstrip("#")), config)
    elif verb:
        await turn.log_in("workflow_usage", topic=TOPIC)
        await turn.reply(say("id", "wf_usage", codes=", ".join(load().workflows)))
    else:
        await list_active(turn, config)


async def list_active(turn: Turn, config: ScheduleConfig) -> None:
    """Every running instance with its current step and owner."""
    await turn.log_in("listed", topic=TOPIC)
    rows = await workflows.active(turn.session)
    if not rows:
        await turn.reply(say("id", "wf_list_none"))
        return
    defs = load()
    now = utcnow()
    lines = [say("id", "wf_list_header")]
    for item in rows:
        workflow = defs.workflows[item.workflow]
        step = workflow.step(item.step)
        holder = await workflows.holder_of(turn.session, item)
        role = defs.role_name(step.owner) + (f": {holder.display_name}" if holder else "")
        lines.append(
            say(
                "id",
                "wf_line",
                number=item.id,
                code=item.workflow,
                title=item.title,
                step=item.step,
                steps=len(workflow.steps),
                role=role,
                due=item.step_due_at.astimezone(config.zone).strftime("%d-%m-%Y %H:%M"),
                late=say("id", "wf_late") if item.step_due_at < now else "",
            )
        )
    await turn.reply("\n".join(lines))


async def parse_start(turn: Turn, args: str) -> tuple[str, str, dict[str, Person]]:
    """`KODE | judul | peran=pemegang; ...` into code, title and role holders."""
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 2 or not parts[0]:
        raise workflows.WorkflowError("tulis KODE | judul | peran=pemegang; ...")
    holders: dict[str, Person] = {}
    for item in filter(None, (h.strip() for h in (parts[2] if len(parts) > 2 else "").split(";"))):
        role, sep, spec = item.partition("=")
        if not sep:
            raise workflows.WorkflowError(f"{item!r}: tulis peran=pemegang")
        holders[role.strip()] = await workflows.resolve_holder(turn.session, spec)
    return parts[0], parts[1], holders


async def _start(turn: Turn, args: str, config: ScheduleConfig) -> None:
    try:
        code, title, holders = await parse_start(turn, args)
        instance = await workflows.start(
            turn.session, config, code, title, holders, by=turn.person.display_name, now=utcnow()
        )
    except workflows.WorkflowError as exc:
        await turn.log_in("workflow_refused", topic=TOPIC)
        await turn.reply(
            say("id", "wf_bad", problem=str(exc))
            + "\n"
            + say("id", "wf_usage", codes=", ".join(load().workflows))
        )
        return
    await turn.log_in("workflow_started", topic=TOPIC)
    await turn.reply(say("id", "wf_started", code=code, number=instance.id, title=instance.title))


async def _done_by_staff(turn: Turn, number: int, config: ScheduleConfig) -> None:
    instance = await turn.session.get(WorkflowInstance, number)
    if instance is None or instance.status != "active":
        await turn.log_in("workflow_not_found", topic=TOPIC)
        await turn.reply(say("id", "wf_not_found", number=number))
        return
    await _complete(turn, instance, instance.step, config)


async def button(turn: Turn, rest: str, config: ScheduleConfig) -> None:
    """`w:d:<instance>:<step>`: the step's owner (or staff) marks it done."""
    parts = rest.split(":")
    if len(parts) != 3 or parts[0] != "d" or not (parts[1].isdigit() and parts[2].isdigit()):
        await turn.answer_callback()
        return
    await _mark(turn, int(parts[1]), int(parts[2]), config)


def done_by_reply(subject: str | None, text: str) -> tuple[int, int] | None:
    """Instance and step an emailed reply marks done, or None when it does not.

    The reply must carry the notice's `[alur #N.S]` subject tag and begin with SELESAI or
    DONE; one that begins otherwise ("Belum selesai") goes to staff like any other answer.
    """
    found = workflows.STEP_TAG.search(subject or "")
    if found is None or _DONE.match(text) is None:
        return None
    return int(found.group(1)), int(found.group(2))


def note_after_done(text: str) -> str:
    """What a SELESAI reply says besides the word, for staff; empty when it says nothing."""
    found = _DONE.match(text)
    rest = text[found.end() :] if found else text
    return rest.lstrip(" \t\r\n.,;:!-").rstrip() if re.search(r"[^\W_]", rest) else ""


async def done_by_email(turn: Turn, number: int, step: int, config: ScheduleConfig) -> None:
    """The owner of a step (or staff) answered its emailed notice with SELESAI.

    Whatever else the reply carries (a line after the word, a signed certificate as a file)
    is passed on to staff, who would otherwise never see it. A reply refused as not the
    holder's goes to staff whole: a secretary often answers for a partner's officer.
    """
    instance, outcome = await _mark(turn, number, step, config)
    inbound = turn.inbound
    note = note_after_done(inbound.text)
    files = stored_files.kept(inbound.attachments, Channel.EMAIL)
    left_out = stored_files.left_out(inbound.attachments)
    if instance is None or not (note or files or left_out or outcome == "refused"):
        return
    html = say(
        "id",
        "wf_reply_note",
        name=turn.person.display_name,
        address=inbound.sender.external_id,
        step=step,
        code=instance.workflow,
        number=instance.id,
        outcome=say("id", f"wf_reply_{outcome}", number=instance.id),
        text=shorten(note, 1500) or "-",
    )
    if left_out:
        html += "\n" + helpdesk_texts.text("id", "files_left_out", names=", ".join(left_out))
    await email_staff.notify_staff(turn.session, turn.config, html, files=files)
    logger.info("workflow #%s step %s reply (%s) passed on to staff", instance.id, step, outcome)


async def _mark(
    turn: Turn, number: int, step: int, config: ScheduleConfig
) -> tuple[WorkflowInstance | None, str]:
    """Marks the step done if the sender may; returns the instance and what happened.

    What happened is `done`, `stale` (done before), `refused` or `not_found`.
    """
    instance = await turn.session.get(WorkflowInstance, number)
    if instance is None:
        await turn.log_in("workflow_not_found", topic=TOPIC)
        await _notice(turn, say(turn.language, "wf_not_found", number=number))
        return None, "not_found"
    if instance.status != "active" or instance.step != step:
        # A second press, or an old message: nothing to do, whoever pressed.
        await _complete(turn, instance, step, config)
        return instance, "stale"
    inbound = turn.inbound
    email = inbound.sender.external_id if inbound.channel == Channel.EMAIL else None
    if not turn.is_staff and not await workflows.may_complete(
        turn.session, instance, turn.person, email=email
    ):
        # Neither staff nor the holder of this step: refused and logged with who it was.
        logger.warning(
            "refused workflow #%s step to %s user %s (not the holder)",
            instance.id,
            inbound.channel,
            inbound.sender.external_id,
        )
        await turn.log_in("refused", topic=TOPIC)
        await _notice(turn, say(turn.language, "wf_not_yours"))
        return instance, "refused"
    done = await _complete(turn, instance, step, config)
    return instance, "done" if done else "stale"


async def _notice(turn: Turn, text: str) -> None:
    """A short answer: on the pressed button where there was one, else as a reply."""
    if turn.inbound.callback_ref is None:
        await turn.reply(text)
    else:
        await turn.answer_callback(text)


async def _complete(
    turn: Turn, instance: WorkflowInstance, step: int, config: ScheduleConfig
) -> bool:
    done = await workflows.complete(
        turn.session,
        config,
        instance,
        step,
        by=turn.person.display_name,
        now=utcnow(),
        person=turn.person,
    )
    await turn.log_in("workflow_step_done" if done else "workflow_stale", topic=TOPIC)
    await turn.answer_callback()
    key = "wf_done_ok" if done else "wf_stale"
    await turn.reply(
        say(turn.language, key, step=step, code=instance.workflow, number=instance.id)
    )
    return done
