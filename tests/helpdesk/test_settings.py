"""Settings: defaults, environment, TOML file, precedence and the errors people will see."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from handlers.knowledge import DEFAULT_KB_PATH
from helpdesk.settings import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "helpdesk.example.toml"
TOKEN = "123456:SEKRET-token-value"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HELPDESK_* variable of the caller leaks in; relative paths land in tmp_path."""
    for name in list(os.environ):
        if name.startswith("HELPDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "helpdesk.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(config_file: Path | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(config_file)
    return str(info.value)


def config_error_with(**overrides: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(None, **overrides)
    return str(info.value)


def test_defaults() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite+aiosqlite:///helpdesk.sqlite3"
    assert settings.timezone == "Asia/Makassar"
    assert str(settings.zone) == "Asia/Makassar"
    assert settings.language == "id"
    assert settings.kb_path is None
    assert settings.telegram.token is None
    assert settings.telegram.mode == "polling"
    assert settings.telegram.base_url == "https://api.telegram.org/bot"
    assert settings.telegram.staff_chat_id is None
    assert settings.staff.telegram_ids == []
    assert settings.contact.lms_url == ""


def test_environment_with_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_TELEGRAM__TOKEN", TOKEN)
    monkeypatch.setenv("HELPDESK_TELEGRAM__STAFF_CHAT_ID", "-100123")
    monkeypatch.setenv("HELPDESK_STAFF__TELEGRAM_IDS", "[1,2]")
    monkeypatch.setenv("HELPDESK_LANGUAGE", "en")
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "sqlite:///x.sqlite3")

    settings = load_settings()

    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == TOKEN
    assert settings.telegram.staff_chat_id == -100123
    assert settings.staff.telegram_ids == [1, 2]
    assert settings.language == "en"
    assert settings.database_url == "sqlite+aiosqlite:///x.sqlite3"  # the plain form is accepted
    assert TOKEN not in repr(settings)


TOML = f"""
timezone = "Asia/Jakarta"
kb_path = "{DEFAULT_KB_PATH.as_posix()}"

[telegram]
token = "{TOKEN}"
mode = "webhook"
webhook_url = "https://helpdesk.example/tg"
port = 8080

[staff]
telegram_ids = [7, 8]

[contact]
lms_url = "https://lms.example"
"""


def check_toml(settings: Settings) -> None:
    assert settings.timezone == "Asia/Jakarta"
    assert settings.kb_path == DEFAULT_KB_PATH
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.webhook_url == "https://helpdesk.example/tg"
    assert settings.telegram.port == 8080
    assert settings.staff.telegram_ids == [7, 8]
    assert settings.contact.lms_url == "https://lms.example"


def test_toml_file_by_argument(tmp_path: Path) -> None:
    check_toml(load_settings(write(tmp_path, TOML)))


def test_toml_file_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_CONFIG", str(write(tmp_path, TOML)))

    check_toml(load_settings())


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_TELEGRAM__PORT", "9000")
    monkeypatch.setenv("HELPDESK_TIMEZONE", "Asia/Makassar")

    settings = load_settings(write(tmp_path, TOML))

    assert settings.telegram.port == 9000
    assert settings.timezone == "Asia/Makassar"
    assert settings.telegram.mode == "webhook"  # the rest still comes from the file


def test_example_file_loads_as_shipped() -> None:
    assert load_settings(EXAMPLE) == load_settings()


def test_example_file_names_every_key_and_each_example_is_valid(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    # Uncomment every key; the example kb_path would not exist here, so point it at the KB.
    enabled = re.sub(r"(?m)^# (\w+ = )", r"\1", text)
    enabled = re.sub(r"(?m)^kb_path = .*$", f'kb_path = "{DEFAULT_KB_PATH.as_posix()}"', enabled)

    settings = load_settings(write(tmp_path, enabled))

    sections: dict[str, type[BaseModel]] = {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    assert set(sections) == {
        "telegram",
        "staff",
        "contact",
        "lms",
        "flows",
        "schedule",
        "digest",
        "workflows",
        "health",
        "privacy",
        "limits",
        "imap",
        "smtp",
        "mail",
    }
    top = set(Settings.model_fields) - set(sections)
    assert top <= set(re.findall(r"(?m)^(\w+) = ", enabled.split("[telegram]")[0]))
    for section, model in sections.items():
        assert f"[{section}]" in text
        body = enabled.split(f"[{section}]")[1].split("\n[")[0]
        assert set(model.model_fields) <= set(re.findall(r"(?m)^(\w+) = ", body)), section
    assert settings.telegram.token is not None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('timezone = "Mars/Olympus"', "timezone"),
        ("[telegram]\nport = 70000", "telegram.port"),
        ('[telegram]\nport = "x"', "telegram.port"),
        ('[telegram]\nmode = "foo"', "telegram.mode"),
        ('language = "fr"', "language"),
        ("colour = 1", "colour"),
        ('[telegram]\ntokn = "1:abc"', "telegram.tokn"),
        ('database_url = "mysql://u@h/db"', "database_url"),
        ('database_url = "not a url"', "database_url"),
        ('kb_path = "no/such/kb.yaml"', "kb_path"),
        ('[staff]\ntelegram_ids = ["budi"]', "staff.telegram_ids"),
        ('[schedule]\nquiet_start = "9pm"', "schedule.quiet_start"),
        ("[schedule]\ntraining_reminders = [60, 0]", "schedule.training_reminders"),
        ('[digest]\ncron = "every monday"', "digest.cron"),
        ('[digest]\nrecipients = ["kepala"]', "digest.recipients"),
        ('[workflows]\nstep_hours = { "6.C.f" = -1 }', "workflows.step_hours"),
    ],
)
def test_wrong_value_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    message = config_error(write(tmp_path, text))

    assert re.search(rf"(?m)^\s*{re.escape(key)}\b", message), message
    assert "Traceback" not in message


@pytest.mark.parametrize("blank", ["", "  \t"])
def test_blank_tokens_are_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv("HELPDESK_TELEGRAM__TOKEN", blank)
    monkeypatch.setenv("HELPDESK_TELEGRAM__SECRET_TOKEN", blank)

    settings = load_settings()

    assert settings.telegram.token is None
    assert settings.telegram.secret_token is None
    message = config_error_with(lms={"url": "https://lms.example", "token": blank})
    assert "lms.token is required" in message


@pytest.mark.parametrize(
    ("variable", "line"),
    [
        (
            "HELPDESK_TIMEZON",
            "HELPDESK_TIMEZON: unknown setting (did you mean HELPDESK_TIMEZONE?)",
        ),
        (
            "HELPDESK_TELEGRAM_TOKEN",
            "HELPDESK_TELEGRAM_TOKEN: unknown setting (did you mean HELPDESK_TELEGRAM__TOKEN?)",
        ),
        ("HELPDESK_NONSENSE", "HELPDESK_NONSENSE: unknown setting"),
    ],
)
def test_a_misspelt_variable_is_named_not_ignored(
    monkeypatch: pytest.MonkeyPatch, variable: str, line: str
) -> None:
    monkeypatch.setenv(variable, "123456:rahasia")

    message = config_error()

    assert message.splitlines()[1:] == [f"  {line}"]
    assert "rahasia" not in message


def test_the_config_file_and_test_variables_are_not_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HELPDESK_TEST_SOMETHING", "1")
    monkeypatch.delenv("HELPDESK_CONFIG", raising=False)

    assert load_settings().timezone == "Asia/Makassar"


def test_wrong_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_TELEGRAM__MODE", "foo")

    assert "telegram.mode" in config_error()


def test_environment_json_error_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_STAFF__TELEGRAM_IDS", "[1,2")

    message = config_error()

    assert "staff" in message
    assert "config file" not in message


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("HELPDESK_STAFF__TELEGRAM_IDS", "123,456", "a JSON list such as [123, 456]"),
        ("HELPDESK_STAFF__TELEGRAM_IDS", "123", "a JSON list such as [123]"),
        ("HELPDESK_MAIL__STAFF_ADDRESSES", "a@b.c", 'a JSON list such as ["a@b.c"]'),
        ("HELPDESK_SCHEDULE__TRAINING_REMINDERS", "60", "a JSON list such as [60]"),
        ("HELPDESK_WORKFLOWS__STEP_HOURS", "6.C.f=72", 'a JSON object such as {"name": 1}'),
        ("HELPDESK_FLOWS__FACULTIES", "Teknik", "a JSON object such as"),
    ],
)
def test_a_list_or_dict_not_in_json_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)

    message = config_error()

    key = variable.removeprefix("HELPDESK_").lower().replace("__", ".")
    assert message.startswith(f"{variable} ({key}): expected {expected}"), message
    assert message.endswith(f"(got {value!r})")
    assert "\n" not in message


def test_a_section_not_in_json_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HELPDESK_TELEGRAM", TOKEN)

    message = config_error()

    assert message == "HELPDESK_TELEGRAM (telegram): expected a JSON object"


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, 'timezone = "X/Y"\n[telegram]\nport = 0\n'))

    assert "timezone" in message
    assert "telegram.port" in message


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[telegram\ntoken = 1\n")

    message = config_error(path)

    assert str(path) in message
    assert "line 1" in message


def test_missing_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.toml"
    assert str(missing) in config_error(missing)

    monkeypatch.setenv("HELPDESK_CONFIG", str(missing))
    assert str(missing) in config_error()


@pytest.mark.parametrize(
    "text",
    [
        f'[telegram]\ntoken = ["{TOKEN}"]',
        f'[telegram]\nsecret_token = {{ value = "{TOKEN}" }}',
        f'[telegram]\ntoken = "{TOKEN}"\nport = "x"\nsecret_token = 5',
        f'telegram = "{TOKEN}"',
        f'[telegrm]\ntoken = "{TOKEN}"',
        f'[telegram]\ntokne = "{TOKEN}"',
    ],
)
def test_secrets_never_appear_in_errors(tmp_path: Path, text: str) -> None:
    message = config_error(write(tmp_path, text))

    assert "SEKRET" not in message
    assert "tele" in message


def test_secret_of_the_wrong_type_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_TELEGRAM", f'{{"token": ["{TOKEN}"], "port": "x"}}')

    message = config_error()

    assert "SEKRET" not in message
    assert "telegram.token" in message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "[flows]\nremind_after_hours = 48\nexpire_after_hours = 24",
            "flows.expire_after_hours must be more than remind_after_hours",
        ),
        ('[lms]\nurl = "https://lms.example"', "lms.token is required when lms.url is set"),
        (
            '[workflows]\nstep_hours = { "6.C.f" = -1 }',
            "workflows.step_hours: hours above 0 keyed by workflow or step, "
            "e.g. {\"6.C.f.2\" = 72} (got {'6.C.f': -1})",
        ),
    ],
)
def test_values_that_are_not_secret_are_not_masked(tmp_path: Path, text: str, line: str) -> None:
    message = config_error(write(tmp_path, text))

    assert message.splitlines()[1:] == [f"  {line}"]


def test_a_secret_inside_a_list_stays_masked(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, f'[staff]\ntelegram_ids = [{{ token = "{TOKEN}" }}]'))

    assert "staff.telegram_ids.0" in message and "(got ***)" in message
    assert "SEKRET" not in message


def test_database_password_is_hidden(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, 'database_url = "mysql://bot:SEKRET@db/helpdesk"'))

    assert "database_url" in message
    assert "SEKRET" not in message


def test_lms_needs_a_token_with_its_address_and_never_shows_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[lms]\nurl = "https://lms.example"'))
    assert "lms.token is required" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[lms]\nurl = "lms.example"\ntoken = "s3cret-token"'))
    assert "lms.url" in str(caught.value) and "s3cret-token" not in str(caught.value)
    settings = load_settings(write(tmp_path, '[lms]\nurl = "https://lms.example/"\ntoken = "t"'))
    assert settings.lms.enabled and settings.lms.url == "https://lms.example"
    assert not load_settings().lms.enabled


MAIL: dict[str, object] = {"address": "elearning@unr.ac.id"}


@pytest.mark.parametrize(
    ("smtp", "expected"),
    [
        ({"port": 465, "security": "starttls"}, "smtp.port: 465 expects TLS from the first byte"),
        ({"port": 465, "security": "none"}, "smtp.port: 465 expects TLS"),
        ({"port": 587, "security": "ssl"}, "smtp.port: 587 starts in plain text"),
        ({"security": "none", "password": "x"}, "smtp.security: none would send the password"),
    ],
)
def test_contradicting_smtp_settings_stop_start_up(smtp: dict[str, object], expected: str) -> None:
    # C31: a TLS mismatch would otherwise show only as a timeout on the first reply.
    with pytest.raises(ConfigError) as caught:
        load_settings(smtp={"host": "smtp.unr.ac.id", **smtp}, mail=MAIL)
    message = str(caught.value)
    assert expected in message and message.count("\n") == 1  # one clear line
    assert "got ***" not in message


def test_imap_needs_smtp_and_an_address_and_no_starttls() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(imap={"host": "mail.unr.ac.id", "security": "starttls"})
    message = str(caught.value)
    assert "mail.address: required" in message and "smtp.host: required" in message
    assert "imap.security: starttls is not supported" in message


def test_mail_defaults_and_consistent_settings_load() -> None:
    settings = load_settings(
        imap={"host": "mail.unr.ac.id", "username": "elearning", "password": "rahasia"},
        smtp={"host": "smtp.unr.ac.id"},
        mail={"address": "ElearNing@unr.ac.id", "staff_addresses": [" Staf@unr.ac.id "]},
    )
    assert settings.imap.effective_port == 993 and settings.smtp.effective_port == 587
    assert settings.mail.address == "elearning@unr.ac.id"
    assert settings.mail.staff_addresses == ["staf@unr.ac.id"]
    assert "rahasia" not in repr(settings)


def test_without_imap_host_the_mail_sections_are_optional() -> None:
    settings = load_settings()
    assert settings.imap.host is None and settings.smtp.host is None
