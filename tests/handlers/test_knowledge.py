"""Tests of the knowledge base: the shipped file, `check` and answer rendering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handlers.knowledge import (
    DEFAULT_KB_PATH,
    REQUIRED_TOPICS,
    KnowledgeBase,
    KnowledgeBaseError,
    check,
)

TOPICS_MD = Path(__file__).parents[3] / "shared" / "eval" / "topics.md"
CONTEXT = {
    "helpdesk_email": "helpdesk@example.org",
    "registration_url": "https://pditt.example.org/register",
    "office_address": "Jl. Contoh 1",
    "lms_url": "https://lms.example.org",
}

GOOD_TOPIC = """\
  - id: {id}
    title: {{id: Judul, en: Title}}
    action: answer
    examples:
      - contoh pertanyaan
    answer:
      id: Jawaban.
      en: Answer.
"""


def write_kb(tmp_path: Path, body: str, *, fill: bool = True) -> Path:
    """A KB file with `body` first and, if `fill`, every other required topic after it."""
    others = [topic for topic in REQUIRED_TOPICS if f"id: {topic}\n" not in body]
    text = "topics:\n" + body + ("".join(GOOD_TOPIC.format(id=t) for t in others) if fill else "")
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def test_shipped_kb_has_no_problems() -> None:
    assert check(DEFAULT_KB_PATH) == []


def test_every_required_topic_is_present(kb: KnowledgeBase) -> None:
    assert set(REQUIRED_TOPICS) <= set(kb.topics)


def test_required_topics_match_topics_md() -> None:
    if not TOPICS_MD.exists():
        pytest.skip(f"{TOPICS_MD} is absent: the shared folder is not beside the repository")
    ids = re.findall(r"^\| ([a-z_]+) \|", TOPICS_MD.read_text(encoding="utf-8"), re.MULTILINE)
    assert set(ids) - {"id"} == set(REQUIRED_TOPICS)


def test_actions_of_special_topics(kb: KnowledgeBase) -> None:
    assert kb.topics["hubungi_staf"].action == "handover"
    assert kb.topics["status_tiket"].action == "ticket_status"
    assert kb.topics["di_luar_topik"].action == "none"


@pytest.mark.parametrize("language", ["id", "en"])
def test_answers_render_without_context(kb: KnowledgeBase, language: str) -> None:
    for topic_id in kb.topics:
        text = kb.answer(topic_id, language, {})
        assert text
        assert "{" not in text and "()" not in text and "  " not in text


def test_answers_render_with_context(kb: KnowledgeBase) -> None:
    text = kb.answer("pditt_daftar", "id", CONTEXT)
    assert CONTEXT["registration_url"] in text
    assert CONTEXT["office_address"] in text
    assert "helpdesk@example.org" in kb.answer("buat_mk", "en", CONTEXT)


def test_empty_values_read_well(kb: KnowledgeBase) -> None:
    text = kb.answer("aktivasi_akun", "id", dict.fromkeys(CONTEXT, ""))
    assert "hubungi helpdesk;" in text


def test_language_falls_back_to_indonesian(kb: KnowledgeBase) -> None:
    assert kb.answer("salam", "fr", {}) == kb.answer("salam", "id", {})
    assert kb.answer("salam", "en-GB", {}) == kb.answer("salam", "en", {})
    assert kb.title("sertifikat", "en") != kb.title("sertifikat", "id")


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    path = write_kb(tmp_path, "  - id: salam\n    title: a: b\n    action: answer\n", fill=False)
    [problem] = check(path)
    assert problem.line == 3
    assert problem.message.startswith("YAML syntax error: mapping values are not allowed")


def test_unclosed_bracket_names_where_it_opened(tmp_path: Path) -> None:
    path = write_kb(tmp_path, "  - id: salam\n    title: [unclosed\n", fill=False)
    [problem] = check(path)
    assert "on line 3" in problem.message


def test_unknown_and_missing_fields(tmp_path: Path) -> None:
    body = GOOD_TOPIC.format(id="salam").replace("    action: answer\n", "    colour: red\n")
    problems = check(write_kb(tmp_path, body))
    messages = {(problem.line, problem.message) for problem in problems}
    assert (4, "topics.0.colour: unknown field") in messages
    assert (2, "topics.0.action: missing field") in messages


def test_unknown_action(tmp_path: Path) -> None:
    body = GOOD_TOPIC.format(id="salam").replace("action: answer", "action: reply")
    [problem] = check(write_kb(tmp_path, body))
    assert problem.line == 4
    assert "unknown action 'reply'" in problem.message


def test_missing_and_duplicate_topics(tmp_path: Path) -> None:
    body = GOOD_TOPIC.format(id="salam") * 2
    path = write_kb(tmp_path, body)
    path.write_text(path.read_text().replace("  - id: di_luar_topik", "  - id: lainnya"))
    problems = check(path)
    assert ("duplicate topic id 'salam'", 10) in {(p.message, p.line) for p in problems}
    assert any("'di_luar_topik' of topics.md is missing" in p.message for p in problems)


def test_template_problems_have_their_lines(tmp_path: Path) -> None:
    body = (
        GOOD_TOPIC.format(id="salam")
        .replace("id: Jawaban.", "id: |-\n        Baris satu.\n        Halo {% if x %}")
        .replace("en: Answer.", "en: Hi {{ phone_number }}")
    )
    problems = check(write_kb(tmp_path, body))
    assert [problem.line for problem in problems] == [10, 11]
    assert "template syntax error" in problems[0].message
    assert "unknown placeholder phone_number" in problems[1].message


def test_empty_examples(tmp_path: Path) -> None:
    body = GOOD_TOPIC.format(id="salam").replace("      - contoh pertanyaan\n", "")
    body = body.replace("examples:", "examples: []")
    [problem] = check(write_kb(tmp_path, body))
    assert problem.line == 5
    assert "examples" in problem.message


def test_duplicate_key(tmp_path: Path) -> None:
    body = GOOD_TOPIC.format(id="salam").replace(
        "    action: answer\n", "    action: answer\n" * 2
    )
    [problem] = check(write_kb(tmp_path, body))
    assert (problem.line, problem.message) == (5, "duplicate key 'action'")


def test_load_raises_with_file_and_line(tmp_path: Path) -> None:
    path = write_kb(tmp_path, "  - id: salam\n    title: a: b\n", fill=False)
    with pytest.raises(KnowledgeBaseError) as raised:
        KnowledgeBase.load(path)
    assert str(raised.value).startswith(f"{path}:3: ")


def test_unreadable_file(tmp_path: Path) -> None:
    [problem] = check(tmp_path / "absent.yaml")
    assert "cannot read" in problem.message
