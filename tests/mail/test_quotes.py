"""Tests of mail.quotes: only what the sender wrote anew is kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mail.quotes import split_reply


@pytest.mark.parametrize(
    "history",
    [
        "On Mon, 3 Jun 2024 at 09:00, Helpdesk <support@example.com> wrote:\n> old",
        "On Mon, Jun 3, 2024 at 9:00 AM Helpdesk <\nsupport@example.com> wrote:\n\n> old",
        "Pada Sen, 3 Jun 2024 pukul 09.00 Helpdesk <support@example.com> menulis:\n> lama",
        "-----Original Message-----\nFrom: Helpdesk\nSent: Monday\nSubject: x\n\nold",
        "From: Helpdesk <support@example.com>\nSent: Monday, June 3, 2024 9:00 AM\nTo: Ani\nold",
        "> only quoted lines\n> here",
        "-- \nAni Wijaya\nFakultas Teknik",
        "Sent from my iPhone",
    ],
)
def test_history_and_signature_removed(history: str) -> None:
    assert split_reply(f"It works now, thanks.\n\n{history}") == "It works now, thanks."


def test_crlf_text() -> None:
    text = "Yes.\r\n\r\nOn 3 Jun 2024, Helpdesk <s@example.com> wrote:\r\n> Did it work?\r\n"

    assert split_reply(text) == "Yes."


def test_inline_answers_between_quotes_are_kept() -> None:
    text = "> Which browser?\nFirefox\n> Which course?\nKalkulus"

    assert split_reply(text) == "Firefox\nKalkulus"


def test_sentence_that_only_looks_like_an_attribution_is_kept() -> None:
    text = "On the login page it wrote:\nError 809"

    assert split_reply(text) == text


def test_nothing_new_keeps_the_whole_text() -> None:
    text = "On 3 Jun 2024, Helpdesk <s@example.com> wrote:\n> Did it work?"

    assert split_reply(text) == text


def test_empty_text() -> None:
    assert split_reply("") == ""


@settings(max_examples=200, deadline=None, database=None)
@given(st.text())
def test_result_is_part_of_the_text(text: str) -> None:
    result = split_reply(text)

    assert not text.strip() or result
    assert len(result) <= len(text)
