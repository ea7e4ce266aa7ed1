"""The environment as a settings source that names the HELPDESK_* variable whose JSON is wrong."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource

_SECRET_NAME = re.compile(r"token|password|secret", re.IGNORECASE)
# HELPDESK_* names that are not settings: the config file's, and the tests' own.
_NOT_SETTINGS = re.compile(r"HELPDESK_(CONFIG|TEST_\w*)", re.IGNORECASE)
# Tried in turn for a placeholder item: the first one the item's type takes is shown.
_SAMPLES: tuple[object, ...] = (1, ["a", "b"], "a")


class EnvJsonError(ValueError):
    """A list, dict or section from the environment that is not the JSON it must be.

    A ValueError, so pydantic-settings goes on treating it as the parsing failure it is.
    """


class EnvSource(EnvSettingsSource):
    """HELPDESK_* variables; a list or dict not written as JSON raises EnvJsonError."""

    def decode_complex_value(self, field_name: str, field: FieldInfo | None, value: Any) -> Any:
        try:
            decoded = super().decode_complex_value(
                field_name,
                field,  # type: ignore[arg-type]
                value,
            )
        except ValueError:
            raise EnvJsonError(self._describe(field_name, field, str(value))) from None
        # `=123` is valid JSON but not the list asked for: the same mistake as `=123,456`.
        shape = get_origin(field.annotation) if field is not None else None
        if decoded is not value and shape in (list, dict) and not isinstance(decoded, shape):
            raise EnvJsonError(self._describe(field_name, field, str(value)))
        return decoded

    def _describe(self, field_name: str, field: FieldInfo | None, value: str) -> str:
        variable = self._variable(field_name, value)
        delimiter = self.env_nested_delimiter or "__"
        key = variable[len(self.env_prefix) :].lower().replace(delimiter.lower(), ".")
        annotation = field.annotation if field is not None else None
        message = f"{variable} ({key}): expected {expected_json(annotation, value)}"
        origin = get_origin(annotation)
        # A whole section may carry the token; a list or dict of a non-secret key shows.
        if origin in (list, dict) and not _SECRET_NAME.search(variable):
            message += f" (got {value!r})"
        return message

    def _variable(self, field_name: str, value: str) -> str:
        # pydantic-settings hands over the last part of the name only: find the variable
        # that holds this value under this name, top level or nested.
        prefix, delimiter = self.env_prefix.lower(), (self.env_nested_delimiter or "").lower()
        name = field_name.lower()
        for variable, held in self.env_vars.items():
            lowered = variable.lower()
            nested = lowered.startswith(prefix) and lowered.endswith(delimiter + name)
            if held == value and (lowered == prefix + name or nested):
                return variable.upper()
        return (prefix + name).upper()


def expected_json(annotation: Any, value: str) -> str:
    """What a variable for `annotation` must hold, with an example close to `value`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return f"a JSON list such as {_list_example(annotation, args[0], value)}"
    if origin is dict:
        return f"a JSON object such as {json.dumps({'name': _sample(args[1])})}"
    return "a JSON object"


def _list_example(annotation: Any, item: Any, value: str) -> str:
    # `123,456` becomes [123, 456]: the person's own values, written as JSON.
    parts = [p.strip().strip("\"'") for p in value.strip().strip("[]").split(",")]
    try:
        return json.dumps(TypeAdapter(annotation).validate_python([p for p in parts if p]))
    except ValidationError:
        return json.dumps([_sample(item)])


def _sample(annotation: Any) -> object:
    for sample in _SAMPLES:
        try:
            TypeAdapter(annotation).validate_python(sample, strict=True)
        except ValidationError:
            continue
        return sample
    return "..."


def unknown_variables(environ: Mapping[str, str], settings: type[BaseModel]) -> list[str]:
    """One line for each HELPDESK_* variable that names no setting (a misspelling would
    otherwise be ignored without a word), with the nearest real name when there is one.

    Unknown keys inside a known section (HELPDESK_TELEGRAM__X) are the settings' own check.
    """
    names = _setting_names(settings)
    lines = []
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith("HELPDESK_") or _NOT_SETTINGS.fullmatch(upper):
            continue
        rest = upper.removeprefix("HELPDESK_")
        if rest.split("__", 1)[0] in {name.split("__", 1)[0] for name in names}:
            continue
        near = difflib.get_close_matches(rest, names, n=1, cutoff=0.8)
        hint = f" (did you mean HELPDESK_{near[0]}?)" if near else ""
        lines.append(f"{variable}: unknown setting{hint}")
    return lines


def _setting_names(settings: type[BaseModel]) -> list[str]:
    names = []
    for name, field in settings.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names += [f"{name}__{key}".upper() for key in section.model_fields]
        else:
            names.append(name.upper())
    return names
