"""Channel-independent shapes of what comes in to the helpdesk and what goes out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    """Where a person talks to the helpdesk."""

    TELEGRAM = "telegram"
    EMAIL = "email"
    CONSOLE = "console"


class Role(StrEnum):
    """A person's role at the university, as the SOP names them."""

    MAHASISWA = "mahasiswa"
    DOSEN = "dosen"
    STAF = "staf"
    MITRA = "mitra"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Attachment:
    """A file that came with a message; `ref` is the channel's own handle for it."""

    kind: str  # photo, document, voice, video, audio, sticker
    ref: str
    name: str | None = None
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Sender:
    """Who wrote, as the channel knows them."""

    external_id: str
    display_name: str
    language: str | None = None


@dataclass(frozen=True)
class MailInfo:
    """What an email adds to an `Inbound`: its kind, threading and delivery-report facts.

    `kind` is person, bounce, auto_reply, bulk or own; `may_auto_reply` is False for
    everything the loop rules forbid answering automatically, with `reason` saying why.
    """

    kind: str
    may_auto_reply: bool
    reason: str
    address: str | None  # the sender's address, None when none could be found (C14)
    message_id: str
    references: tuple[str, ...] = ()  # In-Reply-To and References, oldest first
    report_recipients: tuple[str, ...] = ()  # addresses a delivery report says failed
    report_original_id: str | None = None  # the Message-ID the report is about
    parse_error: str | None = None
    text_truncated: bool = False  # the body was longer than limits.max_text_chars


@dataclass(frozen=True)
class Inbound:
    """One thing a person did: a message, a command or a button press.

    `chat_id` is where an answer goes (a private chat, the staff group, an email address);
    `message_ref` identifies the incoming message on its channel and `reply_to_ref` the
    message it answers, so a staff member's reply can be tied to the ticket it quotes.
    """

    channel: Channel
    sender: Sender
    chat_id: str
    text: str = ""
    command: str | None = None
    args: str = ""
    callback: str | None = None
    callback_ref: str | None = None
    callback_label: str | None = None  # the pressed button's text, for the report
    message_ref: str | None = None
    reply_to_ref: str | None = None
    reply_to_text: str | None = None  # the quoted message's text, when it was one of ours
    is_group: bool = False
    mentioned: bool = False  # a command written to this bot by name (/cmd@bot)
    is_edit: bool = False
    attachments: tuple[Attachment, ...] = ()
    note: str | None = None  # what the adapter saw but could not turn into text
    subject: str | None = None
    event: str | None = None  # blocked, unblocked: the person changed our membership
    mail: MailInfo | None = None  # set for email only


@dataclass(frozen=True)
class Button:
    """A choice offered with a message; `data` comes back as `Inbound.callback`."""

    label: str
    data: str


@dataclass(frozen=True)
class OutFile:
    """A file sent with a message (email attachments; `inline_id` makes it a Content-ID)."""

    name: str
    mime_type: str
    data: bytes
    inline_id: str | None = None


@dataclass(frozen=True)
class Outbound:
    """A message for one recipient.

    `html` uses only the tags Telegram's HTML mode knows (b, i, code, a) and never lets a
    tag span a line break, so a channel may split it at line breaks. Every value that came
    from a person is escaped when the text is built (see `handlers.markup`).
    """

    channel: Channel
    chat_id: str
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to_ref: str | None = None
    subject: str | None = None
    purpose: str = "reply"  # reply, ticket_card, notice: lets the sender record what it sent
    ticket_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    files: tuple[OutFile, ...] = ()
    # A complete HTML body for channels that take one (email); `html` stays the short form.
    email_html: str | None = None
