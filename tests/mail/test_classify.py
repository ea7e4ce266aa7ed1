"""Tests of mail.classify: loops and noise never get an automatic reply."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mail.classify import Classification, classify
from mail.parsing import ParsedMail, parse_message

CASES = Path(__file__).resolve().parents[3] / "shared" / "cases" / "mail"
OWN = ("support@example.com",)
PERSON = ParsedMail(
    dedup_key="p1@example.org",
    message_id="p1@example.org",
    from_address="ani@example.org",
    subject="Cannot log in to e-learning",
    text="Help",
    new_text="Help",
    return_path="<ani@example.org>",
)


def classify_case(name: str) -> Classification:
    path = CASES / name
    if not path.is_file():
        pytest.skip(f"field case not found at {path}")
    return classify(parse_message(path.read_bytes()), own_addresses=OWN)


def with_(**changes: object) -> Classification:
    return classify(dataclasses.replace(PERSON, **changes), own_addresses=OWN)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "kind", "may_auto_reply"),
    [
        ("C13_2_bad_base64.eml", "person", True),
        ("C14_broken_from.eml", "person", True),
        ("C15_1_uft8.eml", "person", True),
        ("C16_1_ascii_label_utf8_body.eml", "person", True),
        ("C17_no_boundary_report.eml", "bounce", False),
        ("C18_html_only_alternative.eml", "person", True),
        ("C21_no_message_id.eml", "person", True),
        ("C23a_out_of_office.eml", "auto_reply", False),
        ("C24_dsn_nested_alternative.eml", "bounce", False),
        ("C26_nul_bytes.eml", "person", True),
    ],
)
def test_cases(name: str, kind: str, may_auto_reply: bool) -> None:
    result = classify_case(name)

    assert (result.kind, result.may_auto_reply) == (kind, may_auto_reply)
    assert result.reason


def test_person_may_get_an_automatic_reply() -> None:
    assert with_() == Classification("person", True, "written by a person")


def test_own_address_is_own_whatever_the_case() -> None:
    result = classify(
        dataclasses.replace(PERSON, from_address="support@example.com"),
        own_addresses=["Support@Example.com "],
    )

    assert (result.kind, result.may_auto_reply) == ("own", False)


@pytest.mark.parametrize(
    "changes",
    [
        {"auto_submitted": "auto-replied"},
        {"auto_submitted": "Auto-Generated; owner-email=x@y"},
        {"x_autoreply": "yes"},
        {"x_autorespond": ""},
        {"precedence": "auto_reply"},
        {"subject": "Automatic reply: Cannot log in"},
        {"subject": "Out of Office: Cannot log in"},
        {"subject": "Balasan otomatis: Tidak bisa login"},
    ],
)
def test_auto_replies(changes: dict[str, str]) -> None:
    result = with_(**changes)

    assert (result.kind, result.may_auto_reply) == ("auto_reply", False)


def test_auto_submitted_no_is_a_person() -> None:
    assert with_(auto_submitted="No (comment)").may_auto_reply


@pytest.mark.parametrize(
    "changes",
    [
        {"precedence": "bulk"},
        {"precedence": "JUNK"},
        {"precedence": "list"},
        {"list_id": "<news.example.org>"},
        {"list_unsubscribe": "<mailto:leave@example.org>"},
    ],
)
def test_bulk(changes: dict[str, str]) -> None:
    result = with_(**changes)

    assert (result.kind, result.may_auto_reply) == ("bulk", False)


@pytest.mark.parametrize(
    "changes",
    [
        {"is_report": True},
        {"from_address": "mailer-daemon@mx.example.org", "return_path": "<>"},
        {"from_address": "postmaster@mx.example.org", "return_path": None},
    ],
)
def test_bounces(changes: dict[str, object]) -> None:
    result = with_(**changes)

    assert (result.kind, result.may_auto_reply) == ("bounce", False)


@pytest.mark.parametrize(
    "changes",
    [
        {"from_address": "no-reply@lms.example.org"},
        {"from_address": "noreply@lms.example.org"},
        {"from_address": "do-not-reply@lms.example.org"},
        {"from_address": "postmaster@example.org"},
        {"from_address": None},
        {"return_path": "<>"},
        {"return_path": "< >"},
        {"x_auto_response_suppress": "OOF"},
        {"parse_error": "RuntimeError: boom"},
    ],
)
def test_no_automatic_reply_but_still_for_staff(changes: dict[str, object]) -> None:
    result = with_(**changes)

    assert (result.kind, result.may_auto_reply) == ("person", False)
    assert result.reason


def test_bounce_wins_over_list_headers() -> None:
    assert with_(is_report=True, list_id="<x>").kind == "bounce"
