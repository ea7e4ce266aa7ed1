"""Reading a course code and an LMS account out of what people write."""

from __future__ import annotations

import pytest

from handlers.lms_courses import fullname, shortname
from handlers.lms_lookup import Account, account_in, course_code


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("matkul IF201 ga muncul di sunari", "IF201"),
        ("kelas if-201 kok tidak ada", "IF201"),
        ("mata kuliah TI 2103A belum tampil", "TI2103A"),
        ("NIM 2201010001, tahun 2026 matkul MKU101 hilang", "MKU101"),
        ("semester 5 tahun 2026/2027", None),
        ("email saya dewi.ab123@unr.ac.id", None),
        ("mata kuliah saya tidak ada di LMS", None),
    ],
)
def test_course_code(message: str, code: str | None) -> None:
    assert course_code(message) == code


@pytest.mark.parametrize(
    ("message", "account"),
    [
        ("email saya Dewi@UNR.ac.id ya", Account("email", "dewi@unr.ac.id")),
        ("username: dewi_a", Account("username", "dewi_a")),
        ("nim 2201010001", Account("username", "2201010001")),
        ("nim saya 2201010001", Account("username", "2201010001")),
        ("username saya adalah Dewi.A", Account("username", "dewi.a")),
        ("user name: made_w", Account("username", "made_w")),
        ("IF201 2201010001", Account("username", "2201010001")),
        ("matkul IF201 hilang", None),
    ],
)
def test_account(message: str, account: Account | None) -> None:
    assert account_in(message) == account


def test_short_and_full_names_from_a_course_creation_request() -> None:
    details = {
        "course_code": "IF 201",
        "course_name": "Basis Data",
        "semester": "ganjil",
        "academic_year": "2026/2027",
    }
    assert shortname(details, "A") == "IF201-A-2026/2027"
    assert shortname(details, "") == "IF201-2026/2027"
    assert fullname(details, "A") == "Basis Data - Kelas A (Ganjil 2026/2027)"
