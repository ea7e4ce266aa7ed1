"""What the handlers need to know about the deployment, free of any settings library."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from handlers.flows.config import FlowConfig
from handlers.lms_port import LmsConfig


@dataclass(frozen=True)
class HelpdeskConfig:
    """Staff, the staff group, language and the facts answers may mention."""

    staff_ids: Mapping[str, frozenset[str]] = field(default_factory=dict)
    staff_chat: tuple[str, str] | None = None  # (channel, chat id)
    language: str = "id"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Makassar"))
    contact: Mapping[str, str] = field(default_factory=dict)
    max_text_chars: int = 20_000
    lms: LmsConfig | None = None  # None: no LMS; cari_mk answers from the knowledge base
    flows: FlowConfig = field(default_factory=FlowConfig)
    max_file_bytes: int = 10 * 1024 * 1024
    email: EmailRules | None = None  # None: no email channel

    @property
    def sends_email(self) -> bool:
        """Whether an email queued now can ever leave (an email channel with SMTP)."""
        return self.email is not None and self.email.sends

    def is_staff(self, channel: str, external_id: str) -> bool:
        """Whether this channel address belongs to a configured staff member."""
        return external_id in self.staff_ids.get(channel, frozenset())


@dataclass(frozen=True)
class EmailRules:
    """The email channel's own facts: staff addresses and the limit on automatic replies."""

    address: str
    staff_addresses: tuple[str, ...] = ()
    auto_reply_limit: int = 5
    auto_reply_window: timedelta = timedelta(hours=3)
    # False when mail.address is set without smtp.host: mail can be read, none can leave.
    sends: bool = True
