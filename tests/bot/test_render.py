"""Splitting long messages (field case C09) and escaping hostile text (C08)."""

from __future__ import annotations

import html

import pytest

from bot.render import CAPTION_LIMIT, TEXT_LIMIT, split_message, utf16_len
from handlers.markup import esc, fmt, to_plain
from tests.conftest import shared_path


def visible(piece: str) -> str:
    return to_plain(piece)


def test_c09_9000_character_body_splits_at_line_breaks_and_joins_back() -> None:
    body = shared_path("cases", "telegram", "C09_body_9000.txt").read_text()
    pieces = split_message(esc(body))

    assert len(pieces) == 3
    assert all(utf16_len(visible(p)) <= TEXT_LIMIT for p in pieces)
    assert all(p.endswith("\n") for p in pieces[:-1])
    assert "".join(visible(p) for p in pieces) == body


def test_c09_five_thousand_emoji_are_never_cut_in_half() -> None:
    body = "😀" * 5000
    pieces = split_message(body)

    assert "".join(pieces) == body
    assert all(utf16_len(p) <= TEXT_LIMIT for p in pieces)
    assert all(set(p) == {"😀"} for p in pieces)


def test_c09_caption_is_kept_within_1024() -> None:
    body = shared_path("cases", "telegram", "C09_body_9000.txt").read_text()
    pieces = split_message(esc(body), limit=CAPTION_LIMIT)

    assert all(utf16_len(visible(p)) <= CAPTION_LIMIT for p in pieces)
    assert "".join(visible(p) for p in pieces) == body


@pytest.mark.parametrize("sequence", ["*️⃣", "👨‍👩‍👧", "👍🏽", "🇮🇩"])
def test_emoji_sequences_stay_whole(sequence: str) -> None:
    body = sequence * 3000
    pieces = split_message(body)

    assert "".join(pieces) == body
    assert all(p.startswith(sequence[0]) for p in pieces)


def test_a_long_bold_line_is_closed_and_reopened_at_each_cut() -> None:
    line = fmt("<b>{}</b>", "a&b" * 3000)
    pieces = split_message(line)

    assert len(pieces) == 3
    assert all(p.startswith("<b>") and p.endswith("</b>") for p in pieces)
    assert all("&amp;" in p and not p.endswith("&") for p in pieces)
    assert "".join(visible(p) for p in pieces) == "a&b" * 3000


C08_INPUTS = [
    ("Printer *urgent* - floor_3 (room 2.1)!", "Customer_A [IT]"),
    ("*️⃣ key on keypad broken", "Customer B"),
    ("Can't login > SSO again... {ref=ABC-12}", "C. Customer ~ ext."),
    ("5 < 6 & <b>not bold", "A&B Ltd"),
]


@pytest.mark.parametrize(("subject", "name"), C08_INPUTS)
def test_c08_special_characters_arrive_literally(subject: str, name: str) -> None:
    shared_path("cases", "telegram", "C08_markdown_inputs.txt")
    built = fmt("<b>Ticket #{}</b>: {}\nFrom: {}", 7, subject, name)

    assert to_plain(built) == f"Ticket #7: {subject}\nFrom: {name}"
    assert html.unescape(built.replace("<b>", "").replace("</b>", "")) == to_plain(built)
