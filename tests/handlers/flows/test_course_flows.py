"""Course creation and enrollment through `Helpdesk.handle`: each step, ticket and card."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import Channel
from tests.handlers.flows.desk import STAFF_CHAT, Desk, make_helpdesk, to

pytestmark = pytest.mark.db

LECTURER = "111"
EXPECTED = {
    "faculty": "Fakultas Teknik",
    "programme": "Teknik Informatika",
    "course_code": "TIF2101",
    "course_name": "Algoritma dan Pemrograman",
    "credits": 3,
    "semester": "ganjil",
    "academic_year": "2026/2027",
    "classes": ["A", "B"],
    "students": 40,
    "nidn": "0012345678",
    "email": "budi@unr.ac.id",
}


@pytest.fixture
def desk(sessions: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(sessions, make_helpdesk())


async def answer(desk: Desk, text: str, *, user: str = LECTURER) -> str:
    [reply] = await desk.say(text, user=user)
    return reply.html


async def test_course_creation_every_field_wrong_once_then_submitted(desk: Desk) -> None:
    [first] = await desk.say("/buatmk")
    assert "(1/11)" in first.html and "Fakultas?" in first.html
    [bad] = await desk.say("Fakultas Kedokteran")
    assert "bukan salah satu pilihan" in bad.html and "1. Fakultas Teknik" in bad.html
    [programme] = await desk.press(bad.data("Fakultas Teknik"))
    assert [label for label, _ in programme.buttons][:2] == ["Teknik Sipil", "Teknik Informatika"]
    assert "bukan salah satu pilihan" in await answer(desk, "Kedokteran Gigi")
    await answer(desk, "2")  # a choice by its number
    wrong_then_right = [
        ("TIF", "Kode mata kuliah «TIF» tidak sesuai", "tif 2101"),
        ("AB", "terlalu pendek (2 karakter)", "Algoritma dan Pemrograman"),
        ("7", "SKS harus bilangan bulat 1 sampai 6", "3"),
        ("ganjil genap", "bukan salah satu pilihan", "ganjil"),
        ("2026/2028", "tahun kedua harus tahun pertama + 1", "2026/2027"),
        ("A, pagi!", "Nama kelas «pagi!» tidak sesuai", "A, B"),
        ("empat puluh", "Jumlah mahasiswa harus bilangan bulat", "40"),
        ("12345", "NIDN harus tepat 10 angka; yang Anda tulis berisi 5 angka", "0012345678"),
        ("budi@unr", "bukan alamat email yang lengkap", "budi@unr.ac.id"),
    ]
    for wrong, message, right in wrong_then_right:
        reply = await answer(desk, wrong)
        assert message in reply, (wrong, reply)
        await answer(desk, right)

    [summary] = await desk.say("ulangi")
    assert "Ketik <i>ya</i> untuk mengirim" in summary.html  # not yes/change: says what to do
    sent = await desk.press(summary.data("Kirim"))

    [ticket] = await desk.tickets()
    assert (ticket.kind, ticket.topic, ticket.status) == ("course_creation", "buat_mk", "open")
    assert ticket.details == EXPECTED
    [user_notice] = to(sent, LECTURER)
    assert f"tiket <b>#{ticket.id}</b>" in user_notice.html
    [card] = to(sent, STAFF_CHAT)
    assert "TIF2101" in card.html and "<code>0012345678</code>" in card.html
    assert [data for _, data in card.buttons] == [
        f"t:c:{ticket.id}",
        f"t:x:{ticket.id}",
        f"t:d:{ticket.id}",
    ]
    assert await desk.conversations() == []
    outcomes = [(r.outcome, r.topic) for r in await desk.report() if r.direction == "in"]
    assert ("flow_started", "buat_mk") in outcomes
    assert outcomes.count(("flow_invalid", "buat_mk")) == 12
    assert ("flow_submitted", "buat_mk") in outcomes


async def _to_summary(desk: Desk, *, user: str = LECTURER, code: str = "TIF2101") -> str:
    await desk.say("/buatmk", user=user)
    for value in ("1", "2", code, "Algoritma", "3", "1", "2026/2027", "A", "40"):
        await answer(desk, value, user=user)
    await answer(desk, "0012345678", user=user)
    return await answer(desk, "budi@unr.ac.id", user=user)


async def test_back_change_and_cancel(desk: Desk) -> None:
    await desk.say("/buatmk")
    assert "Ini pertanyaan pertama" in await answer(desk, "kembali")
    await answer(desk, "1")
    await answer(desk, "1")
    back = await answer(desk, "kembali")
    assert "(2/11)</b> Program studi?" in back and "Jawaban sekarang: <i>Teknik Sipil</i>" in back
    await answer(desk, "Teknik Informatika")
    await desk.say("/batal")
    assert await desk.conversations() == []

    summary = await _to_summary(desk)
    assert "Periksa kembali" in summary and "<b>SKS</b>: 3" in summary
    change = await answer(desk, "ubah 5")
    assert "(5/11)</b> Berapa SKS?" in change and "Jawaban sekarang: <i>3</i>" in change
    summary = await answer(desk, "4")  # after a change: straight back to the summary
    assert "<b>SKS</b>: 4" in summary
    [edit_list] = await desk.say("ubah")
    [question] = await desk.press(edit_list.data("Kelas"))
    assert "Kelas apa saja?" in question.html
    [summary_msg] = await desk.press(question.data("Kembali"))  # back: to the summary
    assert "<b>Kelas</b>: A" in summary_msg.html
    [cancelled] = await desk.press(summary_msg.data("Batal"))
    assert "Dibatalkan" in cancelled.html

    assert await desk.tickets() == []
    assert await desk.conversations() == []


async def test_faculty_change_asks_the_programme_again(desk: Desk) -> None:
    await _to_summary(desk)
    await answer(desk, "ubah 1")

    [asked] = await desk.say("Fakultas Ekonomi")

    assert "Program studi?" in asked.html and asked.buttons[0] == ("Manajemen", asked.data("Man"))
    summary = await answer(desk, "1")
    assert "<b>Program studi</b>: Manajemen" in summary
    await desk.say("ya")
    [ticket] = await desk.tickets()
    assert ticket.details is not None
    assert (ticket.details["faculty"], ticket.details["programme"]) == (
        "Fakultas Ekonomi",
        "Manajemen",
    )


async def test_two_users_interleaved_keep_their_own_answers(desk: Desk) -> None:
    await desk.say("/buatmk", user="111")
    await desk.say("/buatmk", user="222")
    for mine, theirs in [("1", "2"), ("2", "1"), ("AAA101", "BBB202")]:
        await answer(desk, mine, user="111")
        await answer(desk, theirs, user="222")
    for value in ("Satu", "3", "1", "2026/2027", "A", "40", "0012345678", "a@unr.ac.id"):
        await answer(desk, value, user="111")
    await desk.say("ya", user="111")
    reply = await answer(desk, "Dua", user="222")
    assert "(5/11)" in reply  # the other person's answers never moved this one on

    [ticket] = await desk.tickets()
    assert ticket.details is not None
    assert (ticket.details["course_code"], ticket.details["programme"]) == (
        "AAA101",
        "Teknik Informatika",
    )
    [left] = await desk.conversations()
    assert left.data["values"] == {
        "faculty": "Fakultas Ekonomi",
        "programme": "Manajemen",
        "course_code": "BBB202",
        "course_name": "Dua",
    }


async def test_a_button_of_an_earlier_flow_does_nothing(desk: Desk) -> None:
    [first] = await desk.say("/buatmk")
    old = first.data("Fakultas Teknik")
    await desk.say("/batal")
    await desk.say("/buatmk")

    [reply] = await desk.press(old)

    assert "sudah tidak berlaku" in reply.html
    [conversation] = await desk.conversations()
    assert conversation.data["values"] == {}


async def test_staff_done_tells_the_lecturer_with_the_course_address(desk: Desk) -> None:
    await _to_summary(desk)
    await desk.say("ya")
    [ticket] = await desk.tickets()

    assert await desk.press(f"t:d:{ticket.id}") == []  # not staff: refused, nothing sent
    assert (await desk.report())[-1].outcome == "refused"
    relayed = await desk.staff(
        text="Sudah dibuat: https://sunari.unr.example/course/42.", ticket=1
    )
    assert "https://sunari.unr.example/course/42" in to(relayed, LECTURER)[0].html
    sent = await desk.staff(f"t:d:{ticket.id}")

    [notice] = to(sent, LECTURER)
    assert "Mata kuliah <b>TIF2101 Algoritma</b> sudah dibuat" in notice.html
    assert "dapat Anda temukan di LMS di https://sunari.unr.example/course/42" in notice.html
    assert any("ditandai selesai oleh Staf Ayu" in s.html for s in to(sent, STAFF_CHAT))
    [closed] = await desk.tickets()
    assert closed.status == "closed"
    again = await desk.staff(f"t:d:{ticket.id}")
    assert not to(again, LECTURER)
    status = await answer(desk, "/tiket")
    assert "selesai" in status and "TIF2101" in status
    report = await desk.report()
    assert ("done", "buat_mk") in [(r.outcome, r.topic) for r in report if r.direction == "in"]


async def test_done_without_a_staff_reply_points_to_the_lms(desk: Desk) -> None:
    await _to_summary(desk)
    await desk.say("ya")

    sent = await desk.staff("t:d:1")

    assert "di LMS di https://sunari.unr.example." in to(sent, LECTURER)[0].html


async def test_enrollment_explains_first_and_collects_only_if_needed(desk: Desk) -> None:
    [intro] = await desk.say("/enrollment")
    assert "enrolment key" in intro.html and "Enrolment manual" in intro.html
    [enough] = await desk.press(intro.data("Sudah cukup"))
    assert "Baik" in enough.html and await desk.conversations() == []

    [intro] = await desk.say("/enrollment")
    [question] = await desk.press(intro.data("Masih perlu bantuan"))
    assert "(1/7)</b> Kode mata kuliah?" in question.html
    for value in ("TIF2101", "Algoritma"):
        await answer(desk, value)
    assert "Nama kelas «A B» tidak sesuai" in await answer(desk, "A B")
    for value in ("A", "2", "2026/2027"):
        await answer(desk, value)
    assert "terlalu pendek" in await answer(desk, "error")
    await answer(desk, "Mahasiswa tidak bisa masuk walau sudah memakai kunci")
    assert "bukan NIM" in await answer(desk, "2021010001, budi")
    summary = await answer(desk, "2021010001, siti@unr.ac.id")
    assert "<b>Mahasiswa</b>: 2021010001, siti@unr.ac.id" in summary
    sent = await desk.say("ya")

    [ticket] = await desk.tickets()
    assert ticket.kind == "enrollment"
    assert ticket.details == {
        "course_code": "TIF2101",
        "course_name": "Algoritma",
        "class": "A",
        "semester": "genap",
        "academic_year": "2026/2027",
        "problem": "Mahasiswa tidak bisa masuk walau sudah memakai kunci",
        "students": ["2021010001", "siti@unr.ac.id"],
    }
    [card] = to(sent, STAFF_CHAT)
    assert "• Kelas: <code>A</code>" in card.html
    done = await desk.staff(f"t:d:{ticket.id}")
    assert "enrollment mata kuliah <b>TIF2101</b> kelas A" in to(done, LECTURER)[0].html


async def test_a_kb_answer_offers_the_flow_and_help_lists_the_forms(desk: Desk) -> None:
    [answer_msg] = await desk.say("permohonan pembuatan course di LMS")
    start = answer_msg.data("Isi permintaan")
    assert start == "f:s:buat_mk"
    [question] = await desk.press(start)
    assert "(1/11)" in question.html

    [menu] = await desk.say("/bantuan", user="333")
    assert {data for _, data in menu.buttons} >= {
        "f:s:aktivasi_akun",
        "f:s:buat_mk",
        "f:s:enrollment_mk",
    }


async def test_the_english_speaker_gets_english_prompts_and_messages(desk: Desk) -> None:
    await desk.say("/buatmk", user="444", language="en")
    await answer(desk, "1", user="444")
    await answer(desk, "1", user="444")

    reply = await answer(desk, "X", user="444")

    assert "Course code «X» does not fit" in reply and "(3/11)</b> Course code?" in reply


async def test_email_form_filled_with_errors_then_right(desk: Desk) -> None:
    address = "budi@unr.ac.id"
    first = await desk.say(
        "Saya ingin membuat mata kuliah daring baru",
        user=address,
        channel=Channel.EMAIL,
        subject="Pembuatan MK",
    )
    [form] = first
    assert form.subject == "Pembuatan MK"
    assert not [data for _, data in form.buttons if data.startswith("f:")]
    assert "Kode mata kuliah: \nNama mata kuliah: " in form.html
    assert "Pilihan Fakultas: 1. Fakultas Teknik, 2. Fakultas Ekonomi." in form.html

    reply = (
        "Fakultas: 1\nProgram studi: Teknik Informatika\nKode mata kuliah: TIF2101\n"
        "Nama mata kuliah: Algoritma\nSKS: 9\nSemester: ganjil\nTahun akademik: 2026-2027\n"
        "NIDN: 123\n\n> Kelas: \n"
    )
    [errors] = await desk.say(reply, user=address, channel=Channel.EMAIL)
    assert "Beberapa isian perlu diperbaiki" in errors.html
    assert "<b>SKS</b>: ⚠️ SKS harus bilangan bulat 1 sampai 6" in errors.html
    assert "<b>NIDN</b>: ⚠️ NIDN harus tepat 10 angka" in errors.html
    assert "SKS: \nKelas: \nJumlah mahasiswa: \nNIDN: \nEmail: " in errors.html
    assert "Kode mata kuliah:" not in errors.html  # what was right is not asked again

    fixed = "SKS: 3\nKelas: A, B\nJumlah mahasiswa: 40\nNIDN: 0012345678\nEmail: " + address
    [summary] = await desk.say(fixed, user=address, channel=Channel.EMAIL)
    assert "<b>Kelas</b>: A, B" in summary.html and "Balas dengan <i>YA</i>" in summary.html
    sent = await desk.say("YA", user=address, channel=Channel.EMAIL)

    [ticket] = await desk.tickets()
    assert ticket.channel == "email" and ticket.details == {
        **EXPECTED,
        "programme": "Teknik Informatika",
        "course_name": "Algoritma",
    }
    assert "tiket <b>#1</b>" in to(sent, address)[0].html


async def test_an_email_that_is_not_the_form_is_read_as_a_question(desk: Desk) -> None:
    address = "budi@unr.ac.id"
    await desk.say("minta dibuatkan kelas online", user=address, channel=Channel.EMAIL)

    [reply] = await desk.say("Saya lupa password", user=address, channel=Channel.EMAIL)

    assert "Fakultas:" not in reply.html
    assert "password" in reply.html.lower() or "sandi" in reply.html.lower()
    assert len(await desk.conversations()) == 1  # the form still waits for its reply


async def test_a_question_instead_of_yes_after_the_enrollment_explanation(desk: Desk) -> None:
    await desk.say("/enrollment")

    [reply] = await desk.say("Saya lupa password akun e-learning")

    assert "password" in reply.html.lower() or "sandi" in reply.html.lower()
    assert await desk.conversations() == []


async def test_enrollment_by_email_explains_and_carries_the_form(desk: Desk) -> None:
    [answer_msg] = await desk.say(
        "mohon dibukakan enrollment mata kuliah daring", user="b@unr.ac.id", channel=Channel.EMAIL
    )

    assert "enrolment key" in answer_msg.html
    assert "Kode mata kuliah: \n" in answer_msg.html and "Mahasiswa: " in answer_msg.html
