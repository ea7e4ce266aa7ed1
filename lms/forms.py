"""Moodle's flattened form parameters: `courses[0][fullname]=...` from nested values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Value = str | int | float | bool | None | Sequence["Value"] | Mapping[str, "Value"]


def flatten(params: Mapping[str, Value]) -> list[tuple[str, str]]:
    """Form fields for nested dicts and lists, in Moodle's bracket notation."""
    fields: list[tuple[str, str]] = []
    for key, value in params.items():
        _add(fields, key, value)
    return fields


def _add(fields: list[tuple[str, str]], name: str, value: Value) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _add(fields, f"{name}[{key}]", item)
    elif isinstance(value, str):
        fields.append((name, value))
    elif isinstance(value, Sequence):
        for index, item in enumerate(value):
            _add(fields, f"{name}[{index}]", item)
    elif isinstance(value, bool):
        # Moodle's PARAM_BOOL reads 1 and 0; "True" would be refused.
        fields.append((name, "1" if value else "0"))
    elif value is not None:
        fields.append((name, str(value)))
