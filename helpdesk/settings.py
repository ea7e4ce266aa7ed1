"""Settings from the environment (HELPDESK_*) or a TOML file, checked before anything starts."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from storage.database import normalise_url

_SECRET_KEY = re.compile(r"token|password|secret", re.IGNORECASE)
_SECTIONS = frozenset({"telegram", "staff", "contact", "imap", "smtp"})
_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_config_file: ContextVar[Path | None] = ContextVar("config_file", default=None)


class ConfigError(Exception):
    """Settings that cannot work; the message names the key and what it expects."""


class TelegramSettings(BaseModel):
    """The Telegram channel."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    staff_chat_id: int | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    secret_token: SecretStr | None = None
    poll_timeout: int = Field(default=30, ge=0, le=50)
    # Telegram's documented ceilings; the benchmark turns them off for both bots it compares.
    rate_limit: bool = True
    max_send_attempts: int = Field(default=8, ge=1)


class StaffSettings(BaseModel):
    """Who may act as staff."""

    model_config = ConfigDict(extra="forbid")

    telegram_ids: list[int] = Field(default_factory=list)


class ContactSettings(BaseModel):
    """Facts the SOP does not give; answers mention them only when they are set."""

    model_config = ConfigDict(extra="forbid")

    helpdesk_email: str = ""
    registration_url: str = ""
    office_address: str = ""
    lms_url: str = ""


Security = Literal["ssl", "starttls", "none"]
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


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


_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def _mail_problems(imap: ImapSettings, smtp: SmtpSettings, mail: MailSettings) -> list[str]:
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


class Settings(BaseSettings):
    """Everything the service reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="HELPDESK_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = "sqlite+aiosqlite:///helpdesk.sqlite3"
    timezone: str = "Asia/Makassar"
    language: Literal["id", "en"] = "id"
    kb_path: Path | None = None
    state_dir: Path | None = None
    # "process": send from a second process (a second core); "inline": all in one process.
    delivery: Literal["inline", "process"] = "process"
    match_threshold: float | None = Field(default=None, ge=0, le=1)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    contact: ContactSettings = Field(default_factory=ContactSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("an IANA time zone such as Asia/Makassar") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        try:
            return normalise_url(value)
        except Exception as exc:
            raise ValueError(
                "a SQLAlchemy URL: sqlite+aiosqlite:///FILE or postgresql+asyncpg://..."
            ) from exc

    @field_validator("kb_path")
    @classmethod
    def _existing_kb(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"an existing knowledge-base file (no file at {value})")
        return value

    @model_validator(mode="after")
    def _mail_consistent(self) -> Settings:
        problems = _mail_problems(self.imap, self.smtp, self.mail)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone as an object."""
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, so one value can be overridden per run.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Read the settings, or raise ConfigError with one readable line per problem."""
    path = config_file or _env_config_file()
    if path is not None and not path.is_file():
        raise ConfigError(f"config file: no file at {path}")

    token = _config_file.set(path)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:  # a HELPDESK_* variable that is not valid JSON
        raise ConfigError(f"environment: {exc}") from None
    except ValueError as exc:  # a TOML syntax error arrives as a ValueError subclass
        raise ConfigError(f"config file {path}: {exc}") from None
    finally:
        _config_file.reset(token)


def _env_config_file() -> Path | None:
    value = os.environ.get("HELPDESK_CONFIG")
    return Path(value) if value else None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if not key:  # a check across sections names its keys itself
            lines += error["msg"].removeprefix("Value error, ").splitlines()
            continue
        if error["type"] == "extra_forbidden":
            # A misspelt key may well carry the token, so its value is not echoed.
            lines.append(f"{key}: unknown setting")
            continue
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{key}: {message} (got {_shown(key, error.get('input'))})")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _shown(key: str, value: object) -> str:
    # A whole section may hold the token; a database URL may hold a password.
    if _SECRET_KEY.search(key) or key in _SECTIONS or isinstance(value, dict):
        return "***"
    return _URL_PASSWORD.sub(r"\1***@", repr(value))
