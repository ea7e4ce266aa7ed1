"""The SOP's multi-step procedures, read from the workflow file shipped with the project."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("data") / "workflows.yaml"


class WorkflowFileError(ValueError):
    """The workflow file is not as expected; the message names the place."""


@dataclass(frozen=True)
class Step:
    """One step: who owns it, what to do, how long it may take by default."""

    number: int
    owner: str
    text: str
    hours: float


@dataclass(frozen=True)
class Workflow:
    """A procedure such as 6.C.f (grade certificate)."""

    code: str
    title: str
    steps: tuple[Step, ...]

    def step(self, number: int) -> Step:
        """Step `number` (1-based)."""
        return self.steps[number - 1]


@dataclass(frozen=True)
class Definitions:
    """Every workflow and the names of the roles that own steps."""

    roles: Mapping[str, str]
    workflows: Mapping[str, Workflow]

    def role_name(self, role: str) -> str:
        """A role as people read it."""
        return self.roles.get(role, role)


def parse(data: Any, *, source: str = "workflows") -> Definitions:
    """Definitions from the loaded YAML, or WorkflowFileError naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("workflows"), dict):
        raise WorkflowFileError(f"{source}: needs a `workflows` mapping")
    roles = {str(k): str(v) for k, v in (data.get("roles") or {}).items()}
    workflows = {}
    for code, body in data["workflows"].items():
        where = f"{source}: workflow {code}"
        steps_data = body.get("steps") if isinstance(body, dict) else None
        if not isinstance(steps_data, list) or not steps_data:
            raise WorkflowFileError(f"{where}: needs a list of steps")
        default = float(body.get("hours", 48))
        steps = []
        for number, step in enumerate(steps_data, start=1):
            if not isinstance(step, dict) or not step.get("owner") or not step.get("text"):
                raise WorkflowFileError(f"{where} step {number}: needs `owner` and `text`")
            if step["owner"] not in roles:
                raise WorkflowFileError(f"{where} step {number}: unknown role {step['owner']}")
            hours = float(step.get("hours", default))
            if hours <= 0:
                raise WorkflowFileError(f"{where} step {number}: hours must be positive")
            steps.append(Step(number, str(step["owner"]), str(step["text"]), hours))
        workflows[str(code)] = Workflow(str(code), str(body.get("title", code)), tuple(steps))
    return Definitions(roles, workflows)


@functools.cache
def load(path: Path = DEFAULT_PATH) -> Definitions:
    """The workflow file at `path` (read once)."""
    with path.open(encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle), source=str(path))


def step_hours(workflow: Workflow, number: int, overrides: Mapping[str, float]) -> float:
    """How long step `number` may take: a setting for the step, for the workflow, or the file."""
    for key in (f"{workflow.code}.{number}", workflow.code):
        if key in overrides:
            return float(overrides[key])
    return workflow.step(number).hours
