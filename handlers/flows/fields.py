"""The questions a flow asks and the rule each answer must meet.

A validator takes the typed text and returns the clean value, or raises `Invalid` naming
a text (in `handlers.flows.texts`) that says what is wrong and what is expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from handlers.flows.config import FlowConfig

SEMESTERS = ("ganjil", "genap")
MAX_LIST_STUDENTS = 200

_COURSE_CODE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{2,14}")
_YEAR = re.compile(r"(\d{4})\s*[/\-]\s*(\d{4})")
_CLASS = re.compile(r"[A-Za-z0-9\-]{1,10}")
_NIM = re.compile(r"[A-Za-z0-9]{5,20}")
_EMAIL = re.compile(r"[^@\s,;<>]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_SPLIT = re.compile(r"[,;\n]+|\s+")


class Invalid(ValueError):
    """An answer that does not meet its rule; `key` and `values` make the user's message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


Values = Mapping[str, Any]
Choices = Callable[[Values, FlowConfig], tuple[str, ...]]


@dataclass(frozen=True)
class Field:
    """One question of a flow."""

    name: str
    label_id: str
    label_en: str
    validate: Callable[[str], Any]
    choices: Choices | None = None  # a closed list; `validate` then only cleans text

    def label(self, language: str) -> str:
        """The field's name as the reader says it."""
        return self.label_en if language == "en" else self.label_id

    def options(self, values: Values, config: FlowConfig) -> tuple[str, ...]:
        """The choices offered now (none: a free-text answer)."""
        return self.choices(values, config) if self.choices else ()

    def parse(self, raw: str, values: Values, config: FlowConfig) -> Any:
        """The clean value of an answer, or `Invalid`."""
        options = self.options(values, config)
        if options:
            return pick(raw, options)
        return self.validate(raw)


def pick(raw: str, options: tuple[str, ...]) -> str:
    """A choice by its number (1-based) or its text, case and spacing ignored."""
    answer = " ".join(raw.split()).casefold().rstrip(".")
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return options[int(answer) - 1]
    for option in options:
        if option.casefold() == answer:
            return option
    listed = ", ".join(f"{n}. {o}" for n, o in enumerate(options, 1))
    raise Invalid("bad_choice", value=raw.strip(), count=len(options), options=listed)


def free_text(low: int, high: int) -> Callable[[str], str]:
    """Any text of `low` to `high` characters that has at least one letter."""

    def validate(raw: str) -> str:
        value = " ".join(raw.split())
        if not value:
            raise Invalid("bad_empty", expected_key="expected_text")
        if not low <= len(value) <= high:
            which = "short" if len(value) < low else "long"
            raise Invalid("bad_length", which_key=which, length=len(value), low=low, high=high)
        if not any(ch.isalpha() for ch in value):
            raise Invalid("bad_letters")
        return value

    return validate


def course_code(raw: str) -> str:
    """3-15 letters, digits, dots or dashes, with at least one letter and one digit."""
    value = re.sub(r"\s+", "", raw).upper()
    has_both = any(c.isalpha() for c in value) and any(c.isdigit() for c in value)
    if not (_COURSE_CODE.fullmatch(value) and has_both):
        raise Invalid("bad_course_code", value=raw.strip())
    return value


def whole_number(low: int, high: int, key: str) -> Callable[[str], int]:
    """A whole number from `low` to `high`."""

    def validate(raw: str) -> int:
        value = raw.strip()
        if not value.isdigit() or not low <= int(value) <= high:
            raise Invalid(key, value=value)
        return int(value)

    return validate


def academic_year(raw: str) -> str:
    """Two consecutive years, written 2026/2027."""
    value = raw.strip()
    found = _YEAR.fullmatch(value)
    if not found:
        raise Invalid("bad_year_format", value=value)
    first, second = int(found[1]), int(found[2])
    if not 2000 <= first <= 2098:
        raise Invalid("bad_year_range", value=value)
    if second != first + 1:
        raise Invalid("bad_year_order", value=value, first=first, next=first + 1)
    return f"{first}/{second}"


def class_list(raw: str) -> list[str]:
    """1 to 20 class names of 1-10 letters or digits, separated by commas or spaces."""
    names = [part for part in _SPLIT.split(raw.strip()) if part]
    if not names:
        raise Invalid("bad_empty", expected_key="ask_classes")
    for name in names:
        if not _CLASS.fullmatch(name):
            raise Invalid("bad_classes", value=name)
    unique = list(dict.fromkeys(name.upper() for name in names))
    if len(unique) > 20:
        raise Invalid("bad_classes", value=", ".join(unique[20:]))
    return unique


def one_class(raw: str) -> str:
    """A single class name of 1-10 letters or digits."""
    value = raw.strip()
    if not _CLASS.fullmatch(value):
        raise Invalid("bad_class", value=value)
    return value.upper()


def nidn(raw: str) -> str:
    """Exactly 10 digits; spaces, dots and dashes people type between groups are dropped."""
    value = re.sub(r"[\s.\-]", "", raw)
    if not value.isdigit():
        raise Invalid("bad_nidn_chars")
    if len(value) != 10:
        raise Invalid("bad_nidn", count=len(value))
    return value


def email(raw: str) -> str:
    """One complete address (local@domain.tld), at most 254 characters; domain lower-cased."""
    value = raw.strip().strip("<>").strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise Invalid("bad_email", value=raw.strip())
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def nim(raw: str) -> str:
    """5-20 letters or digits with at least one digit (a NIM; an NIDN also fits)."""
    value = raw.strip().upper()
    if not _NIM.fullmatch(value) or not any(c.isdigit() for c in value):
        raise Invalid("bad_nim", value=raw.strip())
    return value


def student_list(raw: str) -> list[str]:
    """NIMs or email addresses separated by commas or spaces; `-` (or empty) for none."""
    value = raw.strip()
    if value.casefold() in ("-", "tidak ada", "none", "no", "tidak"):
        return []
    items = [part for part in _SPLIT.split(value) if part]
    if len(items) > MAX_LIST_STUDENTS:
        raise Invalid("bad_student_many", count=len(items))
    clean: list[str] = []
    for item in items:
        if "@" in item:
            clean.append(email(item) if _EMAIL.fullmatch(item) else _bad_item(item))
        else:
            upper = item.upper()
            ok = _NIM.fullmatch(upper) and any(c.isdigit() for c in upper)
            clean.append(upper if ok else _bad_item(item))
    return list(dict.fromkeys(clean))


def _bad_item(item: str) -> str:
    raise Invalid("bad_student_item", value=item)


def semesters(values: Values, config: FlowConfig) -> tuple[str, ...]:
    """ganjil or genap."""
    return SEMESTERS


def faculties(values: Values, config: FlowConfig) -> tuple[str, ...]:
    """The configured faculties (none configured: free text)."""
    return tuple(config.faculties)


def programmes(values: Values, config: FlowConfig) -> tuple[str, ...]:
    """The study programmes of the faculty chosen before."""
    return tuple(config.faculties.get(str(values.get("faculty", "")), ()))
