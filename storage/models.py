"""SQLAlchemy models: people, tickets, the E-learning report and the durable queues."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime, utcnow


def new_ref() -> str:
    """A short random handle for a report row."""
    return secrets.token_hex(6)


class Base(DeclarativeBase):
    """Declarative base with the project's naming convention (stable Alembic names)."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Person(Base):
    """Someone the helpdesk talks to; one person may have several channel identities."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="unknown")
    language: Mapped[str] = mapped_column(String(8), default="id")
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identities: Mapped[list[Identity]] = relationship(back_populates="person")


class Identity(Base):
    """A person's address on one channel (a Telegram user id, an email address)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    # Set when the channel refused delivery for good (Telegram 403: the bot was blocked).
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="identities")


class Ticket(Base):
    """A request handed over to staff; its id is the short number users quote."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(320))
    topic: Mapped[str | None] = mapped_column(String(40))
    question: Mapped[str] = mapped_column(Text)
    # What kind of request this is (None: a question handed over; or a guided flow's name
    # such as course_creation) and the fields the flow collected, for staff and actions.
    kind: Mapped[str | None] = mapped_column(String(40))
    details: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    requester: Mapped[Person] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[Person | None] = relationship(foreign_keys=[assignee_id])


class TicketMessage(Base):
    """A message we sent about a ticket, so a reply quoting it finds the ticket."""

    __tablename__ = "ticket_messages"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "message_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(320))
    message_ref: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(20))


class Interaction(Base):
    """One row of the E-learning report: a message in or out, or a ticket event."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(5))  # in, out, event
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    handled_by: Mapped[str] = mapped_column(String(200), default="bot")
    handler_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    outcome: Mapped[str] = mapped_column(String(30))
    attachments: Mapped[dict[str, Any] | None]
    # A short random handle that buttons carry ("h:<ref>"), known before the row is written.
    # Also the insert sentinel: a client-made unique value lets SQLite write many rows in
    # one INSERT ... RETURNING and still tell which id belongs to which row.
    ref: Mapped[str | None] = mapped_column(
        String(16), index=True, insert_sentinel=True, default=new_ref
    )

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    ticket: Mapped[Ticket | None] = relationship(foreign_keys=[ticket_id])
    handler: Mapped[Person | None] = relationship(foreign_keys=[handler_person_id])


class InboundUpdate(Base):
    """Raw input stored before its channel is told it arrived, then handled from here."""

    __tablename__ = "inbound_updates"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbound_updates_pending", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A message decided on but maybe not yet delivered; survives a crash in between."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        # Finds an earlier pending message to the same chat without scanning the backlog.
        Index("ix_outbox_chat_order", "status", "channel", "chat_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    sent_ref: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # A stable handle for the message, made before it is written (so many rows go in one
    # INSERT on SQLite too); a channel may use it to recognise the message later.
    ref: Mapped[str] = mapped_column(String(16), insert_sentinel=True, default=new_ref)

    interaction: Mapped[Interaction | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()


class Conversation(Base):
    """What the helpdesk is waiting for from one person (a question for staff, a flow step)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("person_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyValue(Base):
    """Small runtime facts that must outlive a restart (e.g. a migrated staff chat id)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LmsJob(Base):
    """Work for the LMS, queued by a handler and done outside its transaction (issue 7).

    A slow LMS must not hold the message processor or a database lock: handlers only write
    the job; the LMS worker calls the LMS, then writes the answers in a transaction of its own.
    """

    __tablename__ = "lms_jobs"
    __table_args__ = (Index("ix_lms_jobs_pending", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))  # lookup, create, use, enrol, activation
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # who asked
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # who approved
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class RosterEntry(Base):
    """One row of the roster staff import for account activation (a student or a lecturer).

    `number` is the NIM of a student or the NIDN of a lecturer; `person_id` is set once the
    person proved, with a code sent to `email`, that a channel identity belongs to them.
    """

    __tablename__ = "roster_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    programme: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    linked_at: Mapped[datetime | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivationCode(Base):
    """A one-time code mailed to a roster address; only its salted hash is kept."""

    __tablename__ = "activation_codes"
    __table_args__ = (Index("ix_activation_codes_person_created", "person_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("roster_entries.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Reminder(Base):
    """A message due at a time, sent once by the scheduler (state survives restarts).

    `key` names what the reminder is for (e.g. `training:3:person:7:1440`), so planning the
    same reminder twice is harmless; `status` goes pending -> sent | expired | cancelled |
    undeliverable in the same transaction as the outbox row, which is what keeps it from
    going out twice.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_reminders_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    due_at: Mapped[datetime]
    # After this moment the reminder no longer makes sense (the training has begun).
    not_after: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Subscription(Base):
    """A person who asked for training announcements (`/langganan`)."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Training(Base):
    """A training session (SOP 6.B), internal or external."""

    __tablename__ = "trainings"
    __table_args__ = (Index("ix_trainings_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(10))  # internal, external
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(500))
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")  # or cancelled
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Registration(Base):
    """A person's place at a training: registered, waiting or cancelled; attendance after."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("training_id", "person_id"),
        Index("ix_registrations_training_status", "training_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(10))  # registered, waiting, cancelled
    attended: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()


class WorkflowInstance(Base):
    """One run of an SOP procedure (e.g. 6.C.f certificates for one course and partner)."""

    __tablename__ = "workflow_instances"
    __table_args__ = (Index("ix_workflow_instances_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    # Role name -> person id of who holds it for this instance; roles not named go to staff.
    holders: Mapped[dict[str, Any]]
    step: Mapped[int] = mapped_column(Integer, default=1)  # 1-based; past the last: done
    status: Mapped[str] = mapped_column(String(10), default="active")  # active, done
    step_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    step_due_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class MailboxState(Base):
    """Where intake stands in one IMAP folder: its UIDVALIDITY and the last UID stored."""

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(400), primary_key=True)  # user@host/folder
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
