"""Training sessions (SOP 6.B): creation, announcements, registration with a waiting list,
cancellation that moves the next person up, reminders before the session, attendance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from handlers.messages import Channel, Outbound
from schedules import outreach
from schedules.config import ScheduleConfig
from schedules.reminders import payload
from schedules.texts import say
from storage import reminders
from storage.models import Person, Registration, Subscription, Ticket, Training

logger = logging.getLogger(__name__)

TOPIC = "pelatihan"
AUDIENCES = {"internal": "internal", "eksternal": "external", "external": "external"}


class TrainingError(ValueError):
    """A training that cannot be created or changed as asked; the message is for staff."""


@dataclass(frozen=True)
class Seat:
    """The outcome of a registration: registered, waiting (with a position) or already."""

    status: str
    position: int = 0


def audience_label(language: str, audience: str) -> str:
    """`internal` or `external` as the reader says it (Indonesian: eksternal)."""
    return say(language, f"aud_{audience}")


def local(moment: datetime, config: ScheduleConfig) -> str:
    """A moment as people read it, in local time."""
    return moment.astimezone(config.zone).strftime("%d-%m-%Y %H:%M")


def _values(training: Training, config: ScheduleConfig, language: str) -> dict[str, object]:
    return {
        "number": training.id,
        "title": training.title,
        "audience": audience_label(language, training.audience),
        "start": local(training.starts_at, config),
        "end": local(training.ends_at, config),
        "place": training.place,
        "capacity": training.capacity,
    }


async def create(
    session: AsyncSession,
    config: ScheduleConfig,
    *,
    title: str,
    audience: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: int,
    by: str,
    now: datetime,
    ticket_id: int | None = None,
) -> Training:
    """A new training, announced to subscribers (and to the requester of `ticket_id`)."""
    kind = AUDIENCES.get(audience.strip().lower())
    if kind is None:
        raise TrainingError("peserta harus internal atau eksternal")
    if not title.strip() or not place.strip():
        raise TrainingError("judul dan tempat wajib diisi")
    if ends_at <= starts_at:
        raise TrainingError("waktu selesai harus setelah waktu mulai")
    if starts_at <= now:
        raise TrainingError("waktu mulai sudah lewat")
    if capacity < 1:
        raise TrainingError("kuota minimal 1")
    ticket = await session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket_id is not None and ticket is None:
        raise TrainingError(f"tiket #{ticket_id} tidak ditemukan")
    training = Training(
        title=title.strip()[:200],
        audience=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place.strip()[:500],
        capacity=capacity,
        ticket_id=ticket_id,
        created_by=by,
        created_at=now,
    )
    session.add(training)
    await session.flush()
    outreach.event(
        session, "training_created", f"#{training.id} {title}", topic=TOPIC, handled_by=by
    )
    await _announce(session, config, training, now)
    if ticket is not None:
        await _answer_request(session, config, training, ticket, now)
    logger.info("training #%s created by %s", training.id, by)
    return training


async def _announce(
    session: AsyncSession, config: ScheduleConfig, training: Training, now: datetime
) -> None:
    # As reminders due now: they wait for the morning in quiet hours, and go out once.
    subscribers = (await session.scalars(select(Subscription.person_id))).all()
    for person_id in subscribers:
        person = await session.get(Person, person_id)
        language = person.language if person else "id"
        html = say(language, "tr_announce", **_values(training, config, language))
        await reminders.plan(
            session,
            key=f"training:{training.id}:announce:{person_id}",
            kind="training_announce",
            due_at=now,
            not_after=training.starts_at,
            person_id=person_id,
            payload=payload(html, subject=f"Pelatihan: {training.title}", topic=TOPIC),
        )


async def _answer_request(
    session: AsyncSession,
    config: ScheduleConfig,
    training: Training,
    ticket: Ticket,
    now: datetime,
) -> None:
    """SOP 6.B.b step 3: the requester gets the schedule on the channel they asked from."""
    requester = await session.get(Person, ticket.requester_id)
    language = requester.language if requester else "id"
    html = say(
        language, "tr_schedule_answer", ticket=ticket.id, **_values(training, config, language)
    )
    outbound = Outbound(
        channel=Channel(ticket.channel),
        chat_id=ticket.chat_id,
        html=html,
        subject=f"[#{ticket.id}] Jadwal pelatihan",
        ticket_id=ticket.id,
    )
    outreach.to_address(session, outbound, person=requester, topic=TOPIC)
    if ticket.first_response_at is None:
        ticket.first_response_at = now


async def upcoming(session: AsyncSession, now: datetime) -> list[tuple[Training, int]]:
    """Scheduled trainings not yet started, with how many are registered."""
    taken = (
        select(func.count(Registration.id))
        .where(Registration.training_id == Training.id, Registration.status == "registered")
        .correlate(Training)
        .scalar_subquery()
    )
    query = (
        select(Training, taken)
        .where(Training.status == "scheduled", Training.starts_at > now)
        .order_by(Training.starts_at)
        .limit(10)
    )
    return [(t, int(n or 0)) for t, n in (await session.execute(query)).all()]


async def open_training(session: AsyncSession, number: int, now: datetime) -> Training | None:
    """A scheduled training not yet started, locked for the change (on PostgreSQL)."""
    query = select(Training).where(Training.id == number).with_for_update()
    training = (await session.scalars(query)).first()
    if training is None or training.status != "scheduled" or training.starts_at <= now:
        return None
    return training


async def _registration(
    session: AsyncSession, training: Training, person: Person
) -> Registration | None:
    query = select(Registration).where(
        Registration.training_id == training.id, Registration.person_id == person.id
    )
    return (await session.scalars(query)).first()


async def _count(session: AsyncSession, training: Training, status: str) -> int:
    query = select(func.count(Registration.id)).where(
        Registration.training_id == training.id, Registration.status == status
    )
    return int(await session.scalar(query) or 0)


async def register(
    session: AsyncSession,
    config: ScheduleConfig,
    training: Training,
    person: Person,
    now: datetime,
) -> Seat:
    """A place for `person` if there is one, else the end of the waiting list."""
    found = await _registration(session, training, person)
    if found is not None and found.status != "cancelled":
        return Seat("already_" + found.status)
    full = await _count(session, training, "registered") >= training.capacity
    status = "waiting" if full else "registered"
    if found is None:
        found = Registration(training_id=training.id, person_id=person.id, status=status)
        session.add(found)
    found.status, found.created_at, found.updated_at = status, now, now
    await session.flush()
    outreach.event(
        session,
        f"training_{status}",
        f"#{training.id} {training.title}",
        person=person,
        topic=TOPIC,
    )
    if not full:
        await plan_reminders(session, config, training, person)
        return Seat("registered")
    return Seat("waiting", await _count(session, training, "waiting"))


async def cancel(
    session: AsyncSession,
    config: ScheduleConfig,
    training: Training,
    person: Person,
    now: datetime,
) -> bool:
    """Cancel `person`'s place; a freed seat goes to the first on the waiting list."""
    found = await _registration(session, training, person)
    if found is None or found.status == "cancelled":
        return False
    freed = found.status == "registered"
    found.status, found.updated_at = "cancelled", now
    await reminders.cancel_prefix(session, f"training:{training.id}:person:{person.id}:")
    outreach.event(
        session,
        "training_cancelled",
        f"#{training.id} {training.title}",
        person=person,
        topic=TOPIC,
    )
    await session.flush()
    if freed:
        await _move_up(session, config, training, now)
    return True


async def _move_up(
    session: AsyncSession, config: ScheduleConfig, training: Training, now: datetime
) -> None:
    query = (
        select(Registration)
        .where(Registration.training_id == training.id, Registration.status == "waiting")
        .order_by(Registration.created_at, Registration.id)
        .limit(1)
    )
    nxt = (await session.scalars(query)).first()
    if nxt is None:
        return
    nxt.status, nxt.updated_at = "registered", now
    person = await session.get(Person, nxt.person_id)
    assert person is not None
    outreach.event(
        session,
        "training_moved_up",
        f"#{training.id} {training.title}",
        person=person,
        topic=TOPIC,
    )
    html = say(person.language, "tr_moved_up", **_values(training, config, person.language))
    await reminders.plan(
        session,
        key=f"training:{training.id}:person:{person.id}:moved_up:{nxt.id}:{now.isoformat()}",
        kind="training_moved_up",
        due_at=now,
        not_after=training.starts_at,
        person_id=person.id,
        payload=payload(html, subject=f"Pelatihan: {training.title}", topic=TOPIC),
    )
    await plan_reminders(session, config, training, person)
    logger.info("training #%s: person %s moved up from the waiting list", training.id, person.id)


async def plan_reminders(
    session: AsyncSession, config: ScheduleConfig, training: Training, person: Person
) -> None:
    """Reminders at each offset before the start; each gives way to the next one.

    A reminder stops making sense once the next (closer) one is due: after a long
    downtime the person gets the latest reminder, not all of them at once.
    """
    offsets = sorted(config.training_offsets, reverse=True)
    html = say(person.language, "tr_reminder", **_values(training, config, person.language))
    for n, minutes in enumerate(offsets):
        later = offsets[n + 1] if n + 1 < len(offsets) else 0
        await reminders.plan(
            session,
            key=f"training:{training.id}:person:{person.id}:{minutes}",
            kind="training_reminder",
            due_at=training.starts_at - timedelta(minutes=minutes),
            not_after=training.starts_at - timedelta(minutes=later),
            person_id=person.id,
            payload=payload(html, subject=f"Pengingat: {training.title}", topic=TOPIC),
        )


async def subscribe(session: AsyncSession, person: Person) -> bool:
    """Toggle announcements for `person`; True when now subscribed."""
    query = select(Subscription).where(Subscription.person_id == person.id)
    found = (await session.scalars(query)).first()
    if found is not None:
        await session.delete(found)
        return False
    session.add(Subscription(person_id=person.id))
    return True


async def participants(session: AsyncSession, training_id: int) -> list[Registration]:
    """Registrations of a training (not cancelled), in order, with their people."""
    query = (
        select(Registration)
        .where(Registration.training_id == training_id, Registration.status != "cancelled")
        .order_by(Registration.status, Registration.created_at, Registration.id)
        .options(selectinload(Registration.person))
    )
    return list((await session.scalars(query)).all())


async def record_attendance(
    session: AsyncSession, training_id: int, present: set[int], *, by: str
) -> tuple[int, int]:
    """Mark who attended (registration ids in `present`); return (present, registered)."""
    training = await session.get(Training, training_id)
    if training is None:
        raise TrainingError(f"pelatihan #{training_id} tidak ditemukan")
    rows = [r for r in await participants(session, training_id) if r.status == "registered"]
    unknown = present - {r.id for r in rows}
    if unknown:
        raise TrainingError(f"bukan peserta terdaftar: {', '.join(map(str, sorted(unknown)))}")
    for row in rows:
        row.attended = row.id in present
    text = f"#{training_id} hadir {len(present)} dari {len(rows)}"
    outreach.event(session, "training_attendance", text, topic=TOPIC, handled_by=by)
    return len(present), len(rows)


async def open_or_past(session: AsyncSession, number: int) -> Training | None:
    """A training by number, whatever its state (for staff lists and attendance)."""
    return await session.get(Training, number)
