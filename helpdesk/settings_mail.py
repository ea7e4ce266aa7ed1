"""The email channel's settings: IMAP, SMTP, our addresses, and the checks across them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Security = Literal["ssl", "starttls", "none"]
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


class ImapSettings(BaseModel):
    """The mailbox the helpdesk reads (unset host: no email intake)."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)  # None: 993 (ssl) or 143
    username: str = ""
    password: SecretStr | None = None
    security: Security = "ssl"
    folder: str = "INBOX"
    # Without IDLE on the server, how often the mailbox is asked for new mail (seconds).
    poll_interval: float = Field(default=60.0, gt=0, le=3600)
    idle: bool = True
    # RFC 2177 servers may drop an IDLE after 30 minutes; renewing well before that also
    # finds a connection that died without a word (C27).
    idle_renew: float = Field(default=540.0, gt=0, lt=29 * 60)
    timeout: float = Field(default=30.0, gt=0, le=600)

    @property
    def effective_port(self) -> int:
        """The port to connect to."""
        return self.port or (993 if self.security == "ssl" else 143)


class SmtpSettings(BaseModel):
    """The server replies leave through."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)  # None: 465, 587 or 25
    username: str = ""
    password: SecretStr | None = None
    security: Security = "starttls"
    timeout: float = Field(default=30.0, gt=0, le=600)

    @property
    def effective_port(self) -> int:
        """The port to connect to."""
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]


class MailSettings(BaseModel):
    """The email channel: our address, staff addresses and the rules against loops."""

    model_config = ConfigDict(extra="forbid")

    address: str = ""
    display_name: str = "Helpdesk E-learning UNR"
    staff_addresses: list[str] = Field(default_factory=list)
    # Intake failing this long (seconds) is told to staff, and told again when it recovers.
    alert_after: float = Field(default=600.0, gt=0)
    auto_reply_limit: int = Field(default=5, ge=0)
    auto_reply_window_hours: float = Field(default=3.0, gt=0)
    max_attachment_bytes: int = Field(default=10_000_000, ge=0)

    @field_validator("address")
    @classmethod
    def _one_address(cls, value: str) -> str:
        value = value.strip().lower()
        if value and not _EMAIL.fullmatch(value):
            raise ValueError("one email address such as elearning@unr.ac.id")
        return value

    @field_validator("staff_addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in value]
        bad = [v for v in cleaned if not _EMAIL.fullmatch(v)]
        if bad:
            raise ValueError(f"email addresses (not {bad[0]!r})")
        return cleaned


def mail_problems(imap: ImapSettings, smtp: SmtpSettings, mail: MailSettings) -> list[str]:
    """Mail settings that contradict each other (C31): each one stops start-up."""
    problems = []
    if (imap.host or smtp.host) and not mail.address:
        problems.append("mail.address: required with imap.host or smtp.host (our own address)")
    if imap.host is not None and smtp.host is None:
        problems.append("smtp.host: required when imap.host is set (replies leave by SMTP)")
    if imap.host is not None and not (imap.username and imap.password):
        problems.append("imap.username, imap.password: required when imap.host is set")
    if imap.host is not None and imap.security == "starttls":
        problems.append(
            "imap.security: starttls is not supported by the IMAP client (aioimaplib); "
            "use ssl (port 993)"
        )
    if imap.host is not None:
        problems += _port_problems("imap", imap.port, imap.security, ssl_port=993, plain=143)
    if smtp.host is not None:
        problems += _port_problems("smtp", smtp.port, smtp.security, ssl_port=465, plain=587)
    for name, section in (("imap", imap), ("smtp", smtp)):
        host = section.host
        if (
            host
            and section.security == "none"
            and section.password is not None
            and host not in _LOOPBACK
        ):
            problems.append(
                f"{name}.security: none would send the password unencrypted to {host}; "
                "use ssl or starttls"
            )
    return problems


def _port_problems(
    name: str, port: int | None, security: str, *, ssl_port: int, plain: int
) -> list[str]:
    if port == ssl_port and security != "ssl":
        return [
            f'{name}.port: {port} expects TLS from the first byte (security = "ssl"), '
            f"but {name}.security is {security!r}"
        ]
    if port in (plain, 25) and security == "ssl":
        return [
            f'{name}.port: {port} starts in plain text (security = "starttls"), '
            f'but {name}.security is "ssl"'
        ]
    return []
