"""The email form: one `Field: value` line per item, written out and read back from a reply.

Both functions work on plain text, so any channel without buttons can use them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from handlers.flows.config import FlowConfig
from handlers.flows.definitions import Flow, shown
from handlers.flows.fields import Field, Invalid

_LINE = re.compile(r"^\s*[*\-•]?\s*([^:\n]{1,40}?)\s*[:=]\s*(.*?)\s*$")
# Where a mail client starts quoting the message answered: nothing below is the user's.
_QUOTE_START = re.compile(
    r"^\s*(-{2,}\s*(original message|pesan asli)\s*-{2,}|(on|pada) .+(wrote|menulis):\s*$)",
    re.IGNORECASE,
)
_BLANKS = re.compile(r"[\s_]+")


def _key(label: str) -> str:
    return _BLANKS.sub(" ", label.strip(" *").casefold()).strip()


def form_lines(fields: Sequence[Field], values: Mapping[str, Any], language: str) -> list[str]:
    """`Label: value` lines, values already given filled in, the others left empty."""
    lines = []
    for field in fields:
        value = shown(values[field.name]) if field.name in values else ""
        lines.append(f"{field.label(language)}: {value}")
    return lines


def choice_notes(
    fields: Sequence[Field], values: Mapping[str, Any], config: FlowConfig, language: str
) -> list[tuple[str, str]]:
    """(label, "1. a, 2. b") for each field with a closed list of choices."""
    notes = []
    for field in fields:
        options = field.options(values, config)
        if options:
            listed = ", ".join(f"{n}. {o}" for n, o in enumerate(options, 1))
            notes.append((field.label(language), listed))
    return notes


def parse_form(text: str, flow: Flow) -> dict[str, str]:
    """The raw value of each field found in a reply, by field name.

    Labels are matched in Indonesian or English, ignoring case, spacing and a leading
    bullet; quoted lines (`>`) and everything after a quoting header are skipped; an empty
    value says nothing; the first non-empty value of a field wins.
    """
    labels: dict[str, str] = {}
    for field in flow.fields:
        for label in (field.label_id, field.label_en, field.name):
            labels[_key(label)] = field.name
    found: dict[str, str] = {}
    for line in text.splitlines():
        if _QUOTE_START.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        matched = _LINE.match(line)
        if not matched or not matched[2]:
            continue
        name = labels.get(_key(matched[1]))
        if name is not None and name not in found:
            found[name] = matched[2]
    return found


def apply_form(
    flow: Flow,
    found: Mapping[str, str],
    values: dict[str, Any],
    config: FlowConfig,
) -> dict[str, Invalid]:
    """Check each found value in field order; good ones go into `values`, bad ones returned."""
    errors: dict[str, Invalid] = {}
    for field in flow.fields:
        if field.name not in found:
            continue
        try:
            values[field.name] = field.parse(found[field.name], values, config)
        except Invalid as problem:
            errors[field.name] = problem
            values.pop(field.name, None)
    return errors
