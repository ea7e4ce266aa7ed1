"""Settings from the environment (HELPDESK_*) or a TOML file, checked before anything starts."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from datetime import timedelta
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

from handlers.flows.config import FlowConfig
from helpdesk.settings_env import EnvJsonError, EnvSource, unknown_variables
from helpdesk.settings_mail import ImapSettings, MailSettings, SmtpSettings, mail_problems
from storage.database import normalise_url

_SECRET_KEY = re.compile(r"token|password|secret", re.IGNORECASE)
_SECTIONS = frozenset({"telegram", "staff", "contact", "lms", "imap", "smtp"})
_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_config_file: ContextVar[Path | None] = ContextVar("config_file", default=None)


class ConfigError(Exception):
    """Settings that cannot work; the message names the key and what it expects."""


def _blank_is_unset(value: object) -> object:
    # `HELPDESK_TELEGRAM__TOKEN=` (or a TOML `token = ""`) means "no token", not a token
    # Telegram is then asked about: the "how to get a token" message is what helps then.
    if isinstance(value, str) and not value.strip():
        return None
    return value


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

    _blank_token = field_validator("token", "secret_token", mode="before")(_blank_is_unset)


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


class LmsSettings(BaseModel):
    """The LMS (Moodle web services); unset `url` means no LMS: answers come from the KB."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    token: SecretStr | None = None
    timeout: float = Field(default=10.0, gt=0, le=120)
    student_role_id: int = Field(default=5, ge=1)
    teacher_role_id: int = Field(default=3, ge=1)
    categories: dict[str, int] = Field(default_factory=dict)

    _blank_token = field_validator("token", mode="before")(_blank_is_unset)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("the LMS's address, such as https://sunari.example.ac.id")
        return value.rstrip("/") if value else None

    @model_validator(mode="after")
    def _token_with_url(self) -> LmsSettings:
        if self.url and self.token is None:
            raise ValueError("lms.token is required when lms.url is set")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the helpdesk uses the LMS."""
        return bool(self.url and self.token)


class FlowSettings(BaseModel):
    """Guided flows: the faculty list, reminders and the activation code's limits."""

    model_config = ConfigDict(extra="forbid")

    # Faculty -> its study programmes, offered as choices; empty: both asked as free text.
    faculties: dict[str, list[str]] = Field(default_factory=dict)
    remind_after_hours: float = Field(default=24, gt=0)
    expire_after_hours: float = Field(default=72, gt=0)
    check_every_seconds: float = Field(default=300, ge=1)
    code_ttl_minutes: int = Field(default=15, ge=1, le=120)
    code_attempts: int = Field(default=5, ge=1, le=20)
    codes_per_hour: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _expiry_after_reminder(self) -> FlowSettings:
        if self.expire_after_hours <= self.remind_after_hours:
            raise ValueError("flows.expire_after_hours must be more than remind_after_hours")
        return self

    def as_config(self) -> FlowConfig:
        """The handlers' view of these settings."""
        return FlowConfig(
            faculties={name: tuple(items) for name, items in self.faculties.items()},
            remind_after=timedelta(hours=self.remind_after_hours),
            expire_after=timedelta(hours=self.expire_after_hours),
            check_every=self.check_every_seconds,
            code_ttl=timedelta(minutes=self.code_ttl_minutes),
            code_attempts=self.code_attempts,
            codes_per_hour=self.codes_per_hour,
        )


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class ScheduleSettings(BaseModel):
    """Reminders: quiet hours in local time, the scheduler's tick, training reminders."""

    model_config = ConfigDict(extra="forbid")

    quiet_start: str = "21:00"
    quiet_end: str = "06:00"
    tick_seconds: float = Field(default=60, ge=5, le=3600)
    training_reminders: list[int] = Field(default_factory=lambda: [1440, 60])

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError("a local time HH:MM such as 21:00")
        return value

    @field_validator("training_reminders")
    @classmethod
    def _positive_minutes(cls, value: list[int]) -> list[int]:
        if any(minutes <= 0 for minutes in value):
            raise ValueError("minutes before the training, each above 0, e.g. [1440, 60]")
        return sorted(set(value), reverse=True)


class DigestSettings(BaseModel):
    """The weekly digest email."""

    model_config = ConfigDict(extra="forbid")

    recipients: list[str] = Field(default_factory=list)
    cron: str = "0 7 * * mon"
    grace_hours: float = Field(default=24, gt=0, le=24 * 7)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError("a cron expression: minute hour day month weekday") from exc
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"email addresses ({address!r} is not one)")
        return value


class WorkflowSettings(BaseModel):
    """Durations of SOP workflow steps (the SOP leaves them empty) and escalation."""

    model_config = ConfigDict(extra="forbid")

    step_hours: dict[str, float] = Field(default_factory=dict)
    escalate_after_hours: float = Field(default=48, gt=0)

    @field_validator("step_hours")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        if any(hours <= 0 for hours in value.values()):
            raise ValueError('hours above 0 keyed by workflow or step, e.g. {"6.C.f.2" = 72}')
        return value


class HealthSettings(BaseModel):
    """The health page (/healthz, /metrics) and the alerts to staff."""

    model_config = ConfigDict(extra="forbid")

    # 0: no health server. Keep it on loopback; a proxy or the scraper's host reaches it.
    port: int = Field(default=0, ge=0, le=65535)
    listen: str = "127.0.0.1"
    # Seconds a component may fail without a success before staff are told.
    alert_after: dict[str, float] = Field(
        default_factory=lambda: {"telegram": 120.0, "imap": 300.0, "smtp": 300.0, "lms": 600.0}
    )
    check_interval: float = Field(default=10.0, gt=0)


class PrivacySettings(BaseModel):
    """Personal data (UU PDP 27/2022): how long message texts and attachments are kept."""

    model_config = ConfigDict(extra="forbid")

    retention_days: int = Field(default=365, ge=1)


class LimitsSettings(BaseModel):
    """The largest input accepted; larger is refused with a message to the sender."""

    model_config = ConfigDict(extra="forbid")

    max_text_chars: int = Field(default=20_000, ge=100)
    # Telegram lets bots fetch files up to 20 MB; the default keeps well under it.
    max_file_mb: float = Field(default=10.0, gt=0, le=20)


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
    lms: LmsSettings = Field(default_factory=LmsSettings)
    flows: FlowSettings = Field(default_factory=FlowSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    workflows: WorkflowSettings = Field(default_factory=WorkflowSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
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
        problems = mail_problems(self.imap, self.smtp, self.mail)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone as an object."""
        return ZoneInfo(self.timezone)

    @property
    def sends_email(self) -> bool:
        """Whether mail can leave at all: an SMTP server and our own address to send from."""
        return self.smtp.host is not None and bool(self.mail.address)

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
        sources: list[PydanticBaseSettingsSource] = [init_settings, EnvSource(settings_cls)]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def secret_values(settings: BaseModel) -> tuple[str, ...]:
    """Every secret in the settings (SecretStr fields, database password), for the log filter."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
    url = getattr(settings, "database_url", None)
    if isinstance(url, str):
        password = _URL_PASSWORD.search(url)
        if password:
            found.append(url[password.end(1) : password.end() - 1])
    telegram = getattr(settings, "telegram", None)
    token = getattr(telegram, "token", None)
    if isinstance(token, SecretStr):
        found.append(token.get_secret_value().partition(":")[2])  # the secret half alone
    return tuple(v for v in found if v)


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Read the settings, or raise ConfigError with one readable line per problem."""
    path = config_file or _env_config_file()
    if path is not None and not path.is_file():
        raise ConfigError(f"config file: no file at {path}")
    unknown = unknown_variables(os.environ, Settings)
    if unknown:
        raise ConfigError("invalid settings:\n  " + "\n  ".join(unknown))

    token = _config_file.set(path)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:  # a HELPDESK_* variable that is not valid JSON
        if isinstance(exc.__cause__, EnvJsonError):
            raise ConfigError(str(exc.__cause__)) from None
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
        value = error.get("input")
        if "." not in key and isinstance(value, dict):
            # A check across one section's keys: the message names them, and the whole
            # section (the token among it) would show nothing more useful.
            lines.append(message if message.startswith(f"{key}.") else f"{key}: {message}")
            continue
        lines.append(f"{key}: {message} (got {_shown(key, value)})")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _shown(key: str, value: object) -> str:
    # A section given as a string may be the token itself; a list or dict may carry one
    # under a key of its own; a database URL may hold a password.
    if _SECRET_KEY.search(key) or key in _SECTIONS:
        return "***"
    if isinstance(value, dict | list) and _SECRET_KEY.search(repr(value)):
        return "***"
    return hide_password(repr(value))


def hide_password(url: str) -> str:
    """`url` with the password of its user part, if any, shown as ***."""
    return _URL_PASSWORD.sub(r"\1***@", url)
