"""The helpdesk knowledge base: loading, checking and rendering the topics of kb.yaml."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
import jinja2.meta
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = logging.getLogger(__name__)

DEFAULT_KB_PATH = Path(__file__).parent / "data" / "kb.yaml"

# The topic ids of shared/eval/topics.md: every one must have an entry.
REQUIRED_TOPICS: tuple[str, ...] = (
    "aktivasi_akun",
    "lupa_password",
    "enrollment_mk",
    "buat_mk",
    "cari_mk",
    "pelatihan",
    "pelatihan_eksternal",
    "pditt_daftar",
    "pditt_mitra",
    "sertifikat",
    "nilai_pddikti",
    "kerjasama",
    "video_conference",
    "status_tiket",
    "hubungi_staf",
    "salam",
    "terima_kasih",
    "di_luar_topik",
)

# The only values an answer may use; each of them may be empty.
PLACEHOLDERS: frozenset[str] = frozenset(
    {"helpdesk_email", "registration_url", "office_address", "lms_url"}
)

Action = Literal["answer", "handover", "ticket_status", "none"]

_ENV = jinja2.Environment(
    autoescape=False,  # answers are plain text; the channel escapes them for its markup
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a knowledge-base file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class KnowledgeBaseError(Exception):
    """The knowledge base cannot be used; `problems` says why and where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class Localized(BaseModel):
    """A text in Bahasa Indonesia and in English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Topic(BaseModel):
    """One helpdesk topic as staff wrote it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    title: Localized
    action: Action
    examples: tuple[str, ...] = Field(min_length=1)
    keywords: dict[str, float] = Field(default_factory=dict)
    answer: Localized
    flow: str | None = None

    @field_validator("examples")
    @classmethod
    def _no_blank_example(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not example.strip() for example in value):
            raise ValueError("an example is empty")
        return value

    @field_validator("keywords", mode="before")
    @classmethod
    def _keyword_list(cls, value: object) -> object:
        # A plain list of keywords is allowed too: each gets the normal weight.
        if isinstance(value, list):
            return dict.fromkeys(value, 1.0)
        return value


class _KnowledgeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topics: list[Topic] = Field(min_length=1)


class KnowledgeBase:
    """The topics of the helpdesk with their answers, ready to render."""

    def __init__(self, topics: Mapping[str, Topic], *, path: Path = DEFAULT_KB_PATH) -> None:
        self.topics: Mapping[str, Topic] = dict(topics)
        self.path = path
        self._templates = {
            (topic_id, language): _ENV.from_string(getattr(topic.answer, language))
            for topic_id, topic in self.topics.items()
            for language in ("id", "en")
        }

    @classmethod
    def load(cls, path: Path | None = None) -> KnowledgeBase:
        """Read and check a knowledge-base file; the shipped one when `path` is None."""
        path = path or DEFAULT_KB_PATH
        problems, parsed = _check(path)
        if problems or parsed is None:
            raise KnowledgeBaseError(problems)

        logger.debug("loaded %d topics from %s", len(parsed.topics), path)
        return cls({topic.id: topic for topic in parsed.topics}, path=path)

    def answer(self, topic_id: str, language: str, context: Mapping[str, str]) -> str:
        """The topic's answer in `language` ("en" or else Indonesian), rendered as plain text."""
        values = dict.fromkeys(PLACEHOLDERS, "")
        values.update({key: value for key, value in context.items() if key in PLACEHOLDERS})
        template = self._templates[(topic_id, _language(language))]
        return _tidy(template.render(values))

    def title(self, topic_id: str, language: str) -> str:
        """The topic's short title in `language`."""
        return str(getattr(self.topics[topic_id].title, _language(language)))


def check(path: Path) -> list[Problem]:
    """Every problem found in a knowledge-base file, in file order."""
    return _check(path)[0]


def _language(language: str | None) -> Literal["id", "en"]:
    return "en" if language and language.lower().startswith("en") else "id"


def _tidy(text: str) -> str:
    # An empty placeholder can leave trailing spaces or a blank line behind.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def _check(path: Path) -> tuple[list[Problem], _KnowledgeFile | None]:
    name = str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as error:
        return [Problem(name, 0, f"cannot read the file: {error.strerror}")], None

    try:
        root = yaml.compose(source)
    except yaml.YAMLError as error:
        return [_yaml_problem(name, error)], None
    if root is None:
        return [Problem(name, 1, "the file is empty")], None

    problems = list(_duplicate_keys(name, root))
    data = yaml.safe_load(source)
    try:
        parsed = _KnowledgeFile.model_validate(data)
    except ValidationError as error:
        problems += [_schema_problem(name, root, item) for item in error.errors()]
        return sorted(problems, key=lambda problem: problem.line), None

    problems += _semantic_problems(name, root, parsed)
    problems.sort(key=lambda problem: problem.line)
    return problems, None if problems else parsed


def _yaml_problem(name: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    detail = getattr(error, "problem", None) or str(error)
    context, start = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and start is not None and start.line + 1 != line:
        # An unclosed bracket is reported where the file ends; say where it was opened.
        detail += f" ({context} on line {start.line + 1})"
    return Problem(name, line, f"YAML syntax error: {detail}")


def _duplicate_keys(name: str, node: yaml.Node) -> Iterator[Problem]:
    # safe_load silently keeps the last of two equal keys; staff would lose an edit.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield Problem(name, key.start_mark.line + 1, f"duplicate key '{key.value}'")
            seen.add(key.value)
            yield from _duplicate_keys(name, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(name, item)


def _node_at(root: yaml.Node, location: tuple[int | str, ...], *, key: bool = False) -> yaml.Node:
    """The deepest node of `root` along a pydantic error location (the last key if `key`)."""
    node = root
    for index, step in enumerate(location):
        child = _child(node, step, key=key and index == len(location) - 1)
        if child is None:
            break
        node = child
    return node


def _child(node: yaml.Node, step: int | str, *, key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        for key_node, value in pairs:
            if key_node.value == step:
                return key_node if key else value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        items: list[yaml.Node] = node.value
        return items[step] if 0 <= step < len(items) else None
    return None


def _schema_problem(name: str, root: yaml.Node, item: Any) -> Problem:
    location = tuple(item["loc"])
    # A field is best shown at its key: that is the line where staff typed it.
    node = _node_at(root, location, key=True)
    field = ".".join(str(step) for step in location)
    message = item["msg"]
    if item["type"] == "extra_forbidden":
        message = "unknown field"
    elif item["type"] == "missing":
        message = "missing field"
    elif item["type"] == "literal_error":
        message = f"unknown action {item['input']!r}; use answer, handover, ticket_status, none"
    return Problem(name, node.start_mark.line + 1, f"{field}: {message}")


def _topic_nodes(root: yaml.Node) -> list[yaml.Node]:
    topics = _child(root, "topics")
    return list(topics.value) if isinstance(topics, yaml.SequenceNode) else []


def _semantic_problems(name: str, root: yaml.Node, parsed: _KnowledgeFile) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for topic, node in zip(parsed.topics, _topic_nodes(root), strict=True):
        line = node.start_mark.line + 1
        if topic.id in seen:
            problems.append(Problem(name, line, f"duplicate topic id '{topic.id}'"))
        seen.setdefault(topic.id, line)
        problems += _template_problems(name, topic, node)

    root_line = _child(root, "topics")
    last_line = root_line.start_mark.line + 1 if root_line is not None else 1
    problems += [
        Problem(name, last_line, f"topic '{topic_id}' of topics.md is missing")
        for topic_id in REQUIRED_TOPICS
        if topic_id not in seen
    ]
    return problems


def _template_problems(name: str, topic: Topic, node: yaml.Node) -> list[Problem]:
    problems = []
    for language in ("id", "en"):
        text_node = _node_at(node, ("answer", language))
        # Block scalars (| and >) start on the line after their indicator.
        first_line = text_node.start_mark.line + 1
        if isinstance(text_node, yaml.ScalarNode) and text_node.style in ("|", ">"):
            first_line += 1
        problem = _template_problem(getattr(topic.answer, language))
        if problem is not None:
            offset, message = problem
            where = f"{topic.id}.answer.{language}"
            problems.append(Problem(name, first_line + offset, f"{where}: {message}"))
    return problems


def _template_problem(source: str) -> tuple[int, str] | None:
    """(line offset, message) of what is wrong with one answer template, if anything."""
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as error:
        return (error.lineno or 1) - 1, f"template syntax error: {error.message}"

    unknown = jinja2.meta.find_undeclared_variables(tree) - PLACEHOLDERS
    if unknown:
        allowed = ", ".join(sorted(PLACEHOLDERS))
        return 0, f"unknown placeholder {', '.join(sorted(unknown))}; allowed: {allowed}"
    return None
