"""Every validation rule of the guided flows: a good value, a wrong one, and its message."""

from __future__ import annotations

import pytest

from handlers.flows import fields as f
from handlers.flows.config import FlowConfig
from handlers.flows.definitions import COURSE_CREATION, FLOWS
from handlers.flows.fields import Invalid
from handlers.flows.questions import problem_text


def fails(validate: object, raw: str) -> Invalid:
    assert callable(validate)
    with pytest.raises(Invalid) as caught:
        validate(raw)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("TIF2101", "TIF2101"), ("tif 2101", "TIF2101"), ("MK-01.2", "MK-01.2")],
)
def test_course_code_accepts_letters_and_digits(raw: str, clean: str) -> None:
    assert f.course_code(raw) == clean


@pytest.mark.parametrize("raw", ["", "AB", "ALGORITMA", "12345", "TIF_2101", "A" * 10 + "1" * 6])
def test_course_code_refuses_others(raw: str) -> None:
    assert fails(f.course_code, raw).key == "bad_course_code"


def test_free_text_length_letters_and_empty() -> None:
    name = f.free_text(3, 150)
    assert name("  Algoritma   dan Pemrograman ") == "Algoritma dan Pemrograman"
    assert fails(name, "").key == "bad_empty"
    assert fails(name, "ab").values["which_key"] == "short"
    assert fails(name, "x" * 151).values["which_key"] == "long"
    assert fails(name, "1234 5678").key == "bad_letters"


@pytest.mark.parametrize("raw", ["0", "7", "-1", "3.5", "tiga", ""])
def test_credits_must_be_one_to_six(raw: str) -> None:
    credits = FLOWS[COURSE_CREATION].field("credits")
    assert credits.parse(" 6 ", {}, FlowConfig()) == 6
    with pytest.raises(Invalid) as caught:
        credits.parse(raw, {}, FlowConfig())
    assert caught.value.key == "bad_credits"


def test_students_count_one_to_thousand() -> None:
    count = FLOWS[COURSE_CREATION].field("students")
    assert count.parse("40", {}, FlowConfig()) == 40
    for raw in ("0", "1001", "empat puluh"):
        with pytest.raises(Invalid):
            count.parse(raw, {}, FlowConfig())


@pytest.mark.parametrize(("raw", "key"), [
    ("2026-2027", None), ("2026 / 2027", None), ("2026/2028", "bad_year_order"),
    ("2027/2026", "bad_year_order"), ("26/27", "bad_year_format"), ("2026", "bad_year_format"),
    ("1999/2000", "bad_year_range"),
])  # fmt: skip
def test_academic_year(raw: str, key: str | None) -> None:
    if key is None:
        assert f.academic_year(raw) == "2026/2027"
    else:
        assert fails(f.academic_year, raw).key == key


def test_classes_list_and_single_class() -> None:
    assert f.class_list("a, B; c  A") == ["A", "B", "C"]
    assert fails(f.class_list, "A, kelas pagi!").key == "bad_classes"
    assert fails(f.class_list, " ").key == "bad_empty"
    assert fails(f.class_list, ",".join(f"K{i}" for i in range(21))).key == "bad_classes"
    assert f.one_class("b") == "B"
    assert fails(f.one_class, "A B").key == "bad_class"


def test_nidn_is_ten_digits() -> None:
    assert f.nidn("00 1234 5678") == "0012345678"
    assert fails(f.nidn, "12345").values == {"count": 5}
    assert fails(f.nidn, "12345678901").values == {"count": 11}
    assert fails(f.nidn, "00123456AB").key == "bad_nidn_chars"


@pytest.mark.parametrize("raw", ["budi@unr", "budi", "budi@@unr.ac.id", "a b@unr.ac.id", ""])
def test_email_needs_a_full_address(raw: str) -> None:
    assert f.email(" Budi.S@UNR.AC.ID ") == "Budi.S@unr.ac.id"
    assert fails(f.email, raw).key == "bad_email"


def test_nim_rule() -> None:
    assert f.nim(" 2021010001 ") == "2021010001"
    assert f.nim("tpb21a001") == "TPB21A001"
    for raw in ("1234", "ABCDEFG", "2021 0100", "2021-010"):
        assert fails(f.nim, raw).key == "bad_nim"


def test_student_list_nims_emails_or_none() -> None:
    assert f.student_list("-") == []
    assert f.student_list("2021010001, 2021010002 siti@unr.ac.id") == [
        "2021010001",
        "2021010002",
        "siti@unr.ac.id",
    ]
    assert fails(f.student_list, "2021010001, budi").key == "bad_student_item"
    assert fails(f.student_list, "siti@unr").key == "bad_student_item"
    many = ", ".join(str(2021000000 + i) for i in range(201))
    assert fails(f.student_list, many).key == "bad_student_many"


def test_choices_by_number_or_text() -> None:
    assert f.pick("2", ("ganjil", "genap")) == "genap"
    assert f.pick(" GANJIL ", ("ganjil", "genap")) == "ganjil"
    problem = fails(lambda raw: f.pick(raw, ("ganjil", "genap")), "3")
    assert problem.values["options"] == "1. ganjil, 2. genap"


def test_programme_choices_follow_the_faculty() -> None:
    config = FlowConfig(faculties={"Teknik": ("Sipil", "Informatika"), "Ekonomi": ()})
    programme = FLOWS[COURSE_CREATION].field("programme")
    assert programme.options({"faculty": "Teknik"}, config) == ("Sipil", "Informatika")
    # A faculty without a list: the programme is free text.
    assert programme.parse("Manajemen", {"faculty": "Ekonomi"}, config) == "Manajemen"
    assert FLOWS[COURSE_CREATION].field("faculty").options({}, FlowConfig()) == ()


def test_messages_say_what_is_wrong_and_what_is_expected_in_both_languages() -> None:
    problem = fails(f.free_text(3, 150), "ab")
    assert "terlalu pendek (2 karakter)" in problem_text("id", problem)
    assert "3 sampai 150" in problem_text("id", problem)
    assert "too short (2 characters)" in problem_text("en", problem)
    nidn = fails(f.nidn, "123")
    assert "tepat 10 angka" in problem_text("id", nidn)
    assert "exactly 10 digits" in problem_text("en", nidn)
    # A person's text inside a message is escaped, never read as markup.
    assert "&lt;b&gt;" in problem_text("id", fails(f.course_code, "<b>"))
