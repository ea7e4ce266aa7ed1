"""Evaluation of the matcher over a TSV of questions labelled with their expected topic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from handlers.matching import Matcher

OUT_OF_SCOPE = "di_luar_topik"
NO_TOPIC = "-"  # how a non-confident answer is shown in reports
HEADER = ("topic", "question")


class EvalFileError(ValueError):
    """A line of an evaluation file cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Outcome:
    """What the matcher said about one labelled question."""

    expected: str
    got: str | None
    confidence: float
    question: str

    @property
    def right(self) -> bool:
        """The confident topic is the expected one, or an out-of-scope question got none."""
        if self.expected == OUT_OF_SCOPE:
            return self.got is None
        return self.got == self.expected

    @property
    def confident_wrong(self) -> bool:
        """A confident answer with another topic (any answer to an out-of-scope question)."""
        return self.got is not None and self.got != self.expected


@dataclass(frozen=True)
class EvalResult:
    """The outcomes of an evaluation and the figures drawn from them."""

    outcomes: tuple[Outcome, ...]

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def accuracy(self) -> float:
        return self._share(sum(outcome.right for outcome in self.outcomes))

    @property
    def confident_wrong_rate(self) -> float:
        return self._share(sum(outcome.confident_wrong for outcome in self.outcomes))

    @property
    def misses(self) -> tuple[Outcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.right)

    def confusion(self) -> list[tuple[str, str, int]]:
        """(expected, got, count) of the misses, most frequent first."""
        pairs = Counter((miss.expected, miss.got or NO_TOPIC) for miss in self.misses)
        return [(expected, got, count) for (expected, got), count in pairs.most_common()]

    def _share(self, count: int) -> float:
        return count / self.total if self.total else 0.0


def evaluate(matcher: Matcher, rows: Iterable[tuple[str, str]]) -> EvalResult:
    """Match every (expected topic, question) and record the outcome."""
    outcomes = []
    for expected, question in rows:
        found = matcher.match(question)
        outcomes.append(Outcome(expected, found.topic, found.confidence, question))
    return EvalResult(tuple(outcomes))


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """The (topic, question) rows of a tab-separated file with a `topic<TAB>question` header."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].strip().split("\t")) != HEADER:
        raise EvalFileError(f"{path}:1: the header must be 'topic<TAB>question'")

    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        rows.append(_row(path, number, line))
    return rows


def _row(path: Path, number: int, line: str) -> tuple[str, str]:
    fields = line.split("\t")
    if len(fields) != 2:
        raise EvalFileError(
            f"{path}:{number}: expected 2 tab-separated columns, got {len(fields)}"
        )

    topic, question = (field.strip() for field in fields)
    if not topic or not question:
        raise EvalFileError(f"{path}:{number}: the topic and the question must not be empty")
    return topic, question


def format_report(result: EvalResult) -> str:
    """A plain-text report: the figures, the confusion list and every miss."""
    lines = [
        f"questions: {result.total}",
        f"accuracy: {result.accuracy:.1%}",
        f"confident-wrong: {result.confident_wrong_rate:.1%}",
        "",
        "confusion (expected -> got: count):",
    ]
    lines += [f"  {expected} -> {got}: {count}" for expected, got, count in result.confusion()]
    lines += ["", "misses (expected, got, confidence, question):"]
    lines += [
        f"  {miss.expected}\t{miss.got or NO_TOPIC}\t{miss.confidence:.2f}\t{miss.question}"
        for miss in result.misses
    ]
    return "\n".join(lines)
