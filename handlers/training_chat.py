"""Trainings in the chat: /pelatihan, /langganan, register buttons (tr:), staff commands."""

from __future__ import annotations

import logging
from datetime import datetime

from handlers import tickets as ticket_flow
from handlers.markup import shorten
from handlers.messages import Button
from handlers.turn import Turn
from schedules import training
from schedules.config import ScheduleConfig
from schedules.texts import say
from storage.types import utcnow

logger = logging.getLogger(__name__)

COMMANDS = frozenset({"pelatihan", "langganan", "pelatihan_baru", "peserta", "hadir"})
TOPIC = training.TOPIC


async def command(turn: Turn, name: str, args: str, config: ScheduleConfig) -> None:
    """One of COMMANDS."""
    if name == "langganan":
        await _subscribe(turn)
    elif name == "pelatihan" and args.split(maxsplit=1)[:1] == ["minta"]:
        await _request(turn, args.partition("minta")[2].strip())
    elif name == "pelatihan":
        await list_upcoming(turn, config)
    elif not turn.is_staff:
        await ticket_flow.refuse(turn, f"/{name}")
    elif name == "pelatihan_baru":
        await _create(turn, args, config)
    elif name == "peserta":
        await _participants(turn, args)
    else:
        await _attendance(turn, args)


async def list_upcoming(turn: Turn, config: ScheduleConfig) -> None:
    """Upcoming trainings, each with register and cancel buttons."""
    await turn.log_in("listed", topic=TOPIC)
    rows = await training.upcoming(turn.session, utcnow())
    language = turn.language
    if not rows:
        await turn.reply(say(language, "tr_none"), topic=TOPIC)
        return
    lines = [say(language, "tr_header")]
    buttons: list[tuple[Button, ...]] = []
    for item, taken in rows:
        lines.append(
            f"#{item.id} "
            + say(
                language,
                "tr_line",
                title=item.title,
                audience=training.audience_label(language, item.audience),
                start=training.local(item.starts_at, config),
                end=training.local(item.ends_at, config),
                place=item.place,
                taken=taken,
                capacity=item.capacity,
            )
        )
        buttons.append(
            (
                Button(say(language, "tr_button_register", number=item.id), f"tr:r:{item.id}"),
                Button(say(language, "tr_button_cancel", number=item.id), f"tr:c:{item.id}"),
            )
        )
    await turn.reply("\n\n".join(lines), buttons=tuple(buttons), topic=TOPIC)


async def button(turn: Turn, rest: str, config: ScheduleConfig) -> None:
    """`tr:r:<id>` registers, `tr:c:<id>` cancels."""
    action, _, number = rest.partition(":")
    if action not in ("r", "c") or not number.isdigit():
        await turn.answer_callback()
        return
    now = utcnow()
    found = await training.open_training(turn.session, int(number), now)
    language = turn.language
    if found is None:
        await turn.log_in("training_not_found", topic=TOPIC)
        await turn.answer_callback(say(language, "tr_not_found", number=number))
        return
    values = {"title": found.title, "start": training.local(found.starts_at, config)}
    await turn.log_in("training_button", topic=TOPIC)
    await turn.answer_callback()
    if action == "c":
        done = await training.cancel(turn.session, config, found, turn.person, now)
        key = "tr_cancelled" if done else "tr_not_registered"
        await turn.reply(say(language, key, **values), topic=TOPIC)
        return
    seat = await training.register(turn.session, config, found, turn.person, now)
    if seat.status == "registered":
        await turn.reply(say(language, "tr_registered", **values), topic=TOPIC)
    elif seat.status == "waiting":
        await turn.reply(
            say(language, "tr_waiting", position=seat.position, **values), topic=TOPIC
        )
    else:
        status = seat.status.removeprefix("already_")
        await turn.reply(say(language, "tr_already", status=status, **values), topic=TOPIC)


async def _subscribe(turn: Turn) -> None:
    on = await training.subscribe(turn.session, turn.person)
    await turn.log_in("subscribed" if on else "unsubscribed", topic=TOPIC)
    await turn.reply(say(turn.language, "tr_subscribed" if on else "tr_unsubscribed"), topic=TOPIC)


async def _request(turn: Turn, text: str) -> None:
    """SOP 6.B.a/b: a faculty's or an outside institution's request becomes a ticket."""
    if not text:
        await turn.log_in("training_request_empty", topic=TOPIC)
        await turn.reply(say(turn.language, "tr_request_usage"), topic=TOPIC)
        return
    ticket = await ticket_flow.hand_over(
        turn, f"Permintaan pelatihan: {text}", topic=TOPIC, topic_title="Pelatihan"
    )
    external = turn.person.role in ("mitra", "unknown")
    ticket.kind = "training_request"
    ticket.details = {"audience": "external" if external else "internal", "request": text}


def _parse_time(value: str, config: ScheduleConfig) -> datetime:
    try:
        moment = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise training.TrainingError(f"waktu {value.strip()!r}: tulis YYYY-MM-DD HH:MM") from None
    return moment.replace(tzinfo=config.zone)


def parse_new(args: str, config: ScheduleConfig) -> dict[str, object]:
    """The fields of `/pelatihan_baru judul | peserta | mulai | selesai | tempat | kuota`."""
    parts = [p.strip() for p in args.split("|")]
    ticket_id = None
    if parts and parts[-1].startswith("tiket="):
        value = parts.pop().removeprefix("tiket=").lstrip("#")
        if not value.isdigit():
            raise training.TrainingError("tiket=NOMOR")
        ticket_id = int(value)
    if len(parts) != 6:
        raise training.TrainingError("perlu 6 bagian dipisah |")
    title, audience, start, end, place, capacity = parts
    if not capacity.isdigit():
        raise training.TrainingError("kuota harus angka")
    return {
        "title": title,
        "audience": audience,
        "starts_at": _parse_time(start, config),
        "ends_at": _parse_time(end, config),
        "place": place,
        "capacity": int(capacity),
        "ticket_id": ticket_id,
    }


async def _create(turn: Turn, args: str, config: ScheduleConfig) -> None:
    if not args.strip():
        await turn.log_in("training_usage", topic=TOPIC)
        await turn.reply(say("id", "tr_add_usage"))
        return
    try:
        # Every check comes before the first write, so a refusal leaves nothing behind.
        fields = parse_new(args, config)
        made = await training.create(
            turn.session,
            config,
            by=turn.person.display_name,
            now=utcnow(),
            **fields,  # type: ignore[arg-type]
        )
    except training.TrainingError as exc:
        await turn.log_in("training_refused", topic=TOPIC)
        await turn.reply(
            say("id", "tr_add_bad", problem=str(exc)) + "\n" + say("id", "tr_add_usage")
        )
        return
    await turn.log_in("training_created", topic=TOPIC)
    await turn.reply(
        say(
            "id",
            "tr_created",
            number=made.id,
            title=made.title,
            start=training.local(made.starts_at, config),
            capacity=made.capacity,
        )
    )


async def _participants(turn: Turn, args: str) -> None:
    number = args.strip().lstrip("#")
    found = await training.open_or_past(turn.session, int(number)) if number.isdigit() else None
    await turn.log_in("listed", topic=TOPIC)
    if found is None:
        await turn.reply(say("id", "tr_not_found", number=number or "?"))
        return
    lines = [say("id", "tr_participants", number=found.id, title=found.title)]
    for row in await training.participants(turn.session, found.id):
        mark = "" if row.attended is None else (" · hadir" if row.attended else " · tidak hadir")
        name = shorten(row.person.display_name, 60)
        lines.append(
            say("id", "tr_participant", id=row.id, name=name, status=row.status, attended=mark)
        )
    await turn.reply("\n".join(lines))


async def _attendance(turn: Turn, args: str) -> None:
    words = args.replace(",", " ").split()
    if len(words) < 1 or not all(w.lstrip("#").isdigit() for w in words):
        await turn.log_in("training_usage", topic=TOPIC)
        await turn.reply(say("id", "tr_attendance_usage"))
        return
    number, *present = (int(w.lstrip("#")) for w in words)
    try:
        counts = await training.record_attendance(
            turn.session, number, set(present), by=turn.person.display_name
        )
    except training.TrainingError as exc:
        await turn.log_in("training_refused", topic=TOPIC)
        await turn.reply(say("id", "tr_add_bad", problem=str(exc)))
        return
    await turn.log_in("training_attendance", topic=TOPIC)
    await turn.reply(say("id", "tr_attendance", number=number, present=counts[0], total=counts[1]))
