"""Tests of the evaluation: definitions, the TSV reader and the figures on real sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.evaluation import (
    EvalFileError,
    EvalResult,
    Outcome,
    evaluate,
    format_report,
    read_tsv,
)
from handlers.knowledge import KnowledgeBase
from handlers.matching import Matcher

DEV_SET = Path(__file__).parents[3] / "shared" / "eval" / "questions-dev.tsv"
HELD_OUT_SET = Path(__file__).parent / "data" / "questions-heldout.tsv"
MIN_ACCURACY = 0.90
MAX_CONFIDENT_WRONG = 0.03


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(KnowledgeBase.load())


def test_definitions() -> None:
    assert Outcome("salam", "salam", 1.0, "halo").right
    assert Outcome("di_luar_topik", None, 0.1, "ukt").right
    assert not Outcome("di_luar_topik", "sertifikat", 0.9, "ukt").right
    assert Outcome("di_luar_topik", "sertifikat", 0.9, "ukt").confident_wrong
    assert not Outcome("salam", None, 0.2, "hmm").confident_wrong
    assert not Outcome("salam", None, 0.2, "hmm").right


def test_figures_and_report() -> None:
    result = EvalResult(
        (
            Outcome("salam", "salam", 1.0, "halo"),
            Outcome("buat_mk", None, 0.3, "kelas baru?"),
            Outcome("di_luar_topik", "pelatihan", 0.7, "jadwal wisuda"),
            Outcome("buat_mk", None, 0.2, "course?"),
        )
    )
    assert result.accuracy == 0.25
    assert result.confident_wrong_rate == 0.25
    assert result.confusion() == [("buat_mk", "-", 2), ("di_luar_topik", "pelatihan", 1)]

    report = format_report(result)
    assert "accuracy: 25.0%" in report
    assert "confident-wrong: 25.0%" in report
    assert "buat_mk -> -: 2" in report
    assert "di_luar_topik\tpelatihan\t0.70\tjadwal wisuda" in report


def test_empty_result() -> None:
    assert EvalResult(()).accuracy == 0.0


def test_read_tsv(tmp_path: Path) -> None:
    path = tmp_path / "q.tsv"
    path.write_text("topic\tquestion\nsalam\thalo\n\nterima_kasih\tmakasih\n", encoding="utf-8")
    assert read_tsv(path) == [("salam", "halo"), ("terima_kasih", "makasih")]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("question\ttopic\nsalam\thalo\n", ":1: the header"),
        ("topic\tquestion\nsalam halo\n", ":2: expected 2 tab-separated columns, got 1"),
        ("topic\tquestion\nsalam\thalo\nsalam\thai\tlagi\n", ":3: expected 2"),
        ("topic\tquestion\nsalam\t \n", ":2: the topic and the question must not be empty"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "q.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvalFileError, match=where):
        read_tsv(path)


def assert_meets_targets(matcher: Matcher, path: Path) -> None:
    result = evaluate(matcher, read_tsv(path))
    report = format_report(result)
    assert result.total > 0
    assert result.accuracy >= MIN_ACCURACY, report
    assert result.confident_wrong_rate <= MAX_CONFIDENT_WRONG, report


def test_dev_set_meets_targets(matcher: Matcher) -> None:
    if not DEV_SET.exists():
        pytest.skip(f"{DEV_SET} is absent: the shared folder is not beside the repository")
    assert_meets_targets(matcher, DEV_SET)


def test_held_out_set_meets_targets(matcher: Matcher) -> None:
    assert_meets_targets(matcher, HELD_OUT_SET)
