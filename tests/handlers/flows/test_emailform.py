"""The email form: written as `Field: value` lines, read back from a reply."""

from __future__ import annotations

from typing import Any

from handlers.flows.config import FlowConfig
from handlers.flows.definitions import COURSE_CREATION, ENROLLMENT, FLOWS
from handlers.flows.emailform import apply_form, choice_notes, form_lines, parse_form

FLOW = FLOWS[COURSE_CREATION]
CONFIG = FlowConfig(faculties={"Fakultas Teknik": ("Teknik Sipil", "Teknik Informatika")})


def test_form_lines_one_per_field_with_known_values_filled() -> None:
    lines = form_lines(FLOW.fields, {"nidn": "0012345678"}, "id")

    assert lines[0] == "Fakultas: "
    assert "NIDN: 0012345678" in lines
    assert len(lines) == len(FLOW.fields)
    assert form_lines(FLOW.fields[:1], {}, "en") == ["Faculty: "]


def test_choices_are_listed_with_numbers() -> None:
    notes = choice_notes(FLOW.fields, {"faculty": "Fakultas Teknik"}, CONFIG, "id")

    assert ("Fakultas", "1. Fakultas Teknik") in notes
    assert ("Program studi", "1. Teknik Sipil, 2. Teknik Informatika") in notes
    assert ("Semester", "1. ganjil, 2. genap") in notes


def test_reply_is_parsed_in_either_language_ignoring_quotes_and_case() -> None:
    reply = (
        "Selamat pagi, berikut datanya.\n"
        "  * KODE MATA KULIAH : tif2101\n"
        "Course name: Algoritma\n"
        "SKS: 3\n"
        "Semester:\n"
        "> Semester: genap\n"
        "Kelas = A, B\n"
        "\n"
        "Pada 4 Des 2026 09.00, Helpdesk menulis:\n"
        "Tahun akademik: 2030/2031\n"
    )

    found = parse_form(reply, FLOW)

    assert found == {
        "course_code": "tif2101",
        "course_name": "Algoritma",
        "credits": "3",
        "classes": "A, B",
    }


def test_first_non_empty_value_wins_and_unknown_labels_are_ignored() -> None:
    found = parse_form("From: x@y.z\nSKS: 2\nSKS: 4\nWarna: biru\n", FLOW)

    assert found == {"credits": "2"}


def test_apply_keeps_good_values_and_returns_the_bad_ones() -> None:
    values: dict[str, Any] = {"credits": 2}
    found = {"faculty": "1", "programme": "Teknik Informatika", "credits": "9", "nidn": "12"}

    errors = apply_form(FLOW, found, values, CONFIG)

    assert values == {"faculty": "Fakultas Teknik", "programme": "Teknik Informatika"}
    assert {name: e.key for name, e in errors.items()} == {
        "credits": "bad_credits",
        "nidn": "bad_nidn",
    }


def test_enrollment_form_reads_the_student_list() -> None:
    found = parse_form("Mahasiswa: 2021010001, siti@unr.ac.id\nKelas: b\n", FLOWS[ENROLLMENT])
    values: dict[str, Any] = {}

    assert apply_form(FLOWS[ENROLLMENT], found, values, CONFIG) == {}
    assert values == {"students": ["2021010001", "siti@unr.ac.id"], "class": "B"}
