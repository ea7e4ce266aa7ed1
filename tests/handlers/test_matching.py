"""Tests of the question matcher on the ways people really write."""

from __future__ import annotations

import pytest

from handlers.knowledge import KnowledgeBase
from handlers.matching import MAX_CHARS, Matcher, guess_language
from handlers.normalize import Stemmer, words


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(KnowledgeBase.load())


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("pw sy lupa min, gmn resetnya", "lupa_password"),
        ("udh coba login berkali2 tp gk bisa", "lupa_password"),
        ("matkul sy blm muncul di sunari kak", "cari_mk"),
        ("tlg bikinin kls online utk matkul basis data", "buat_mk"),
        ("gmn cara dftar spada", "pditt_daftar"),
        ("akun elearning sy blm aktif", "aktivasi_akun"),
    ],
)
def test_casual_spelling(matcher: Matcher, text: str, topic: str) -> None:
    assert matcher.match(text).topic == topic


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("saya lupa pasword", "lupa_password"),
        ("kapan sertifkat pditt dikirm", "sertifikat"),
        ("cara enrolment mahasiwa ke kelas", "enrollment_mk"),
        ("jadwal pelatiahn e-learning dosen", "pelatihan"),
    ],
)
def test_typos(matcher: Matcher, text: str, topic: str) -> None:
    assert matcher.match(text).topic == topic


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("I forgot my password", "lupa_password"),
        ("How do I register for SPADA?", "pditt_daftar"),
        ("my course does not appear in the LMS", "cari_mk"),
        ("Can I use Zoom for synchronous lectures?", "video_conference"),
    ],
)
def test_english(matcher: Matcher, text: str, topic: str) -> None:
    found = matcher.match(text)
    assert found.topic == topic
    assert found.language == "en"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("halo min, mau tanya cara daftar spada", "pditt_daftar"),
        ("halo, saya lupa password", "lupa_password"),
        ("selamat pagi kak, matkul saya tidak muncul", "cari_mk"),
        ("terima kasih, tapi saya masih tidak bisa login", "lupa_password"),
    ],
)
def test_question_wins_over_greeting(matcher: Matcher, text: str, topic: str) -> None:
    assert matcher.match(text).topic == topic


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("halo", "salam"),
        ("Selamat malam min", "salam"),
        ("om swastiastu", "salam"),
        ("terima kasih", "terima_kasih"),
        ("makasih banyak kak 🙏", "terima_kasih"),
        ("thank you!", "terima_kasih"),
    ],
)
def test_greeting_and_thanks_alone(matcher: Matcher, text: str, topic: str) -> None:
    found = matcher.match(text)
    assert found.topic == topic
    assert not found.escalate


@pytest.mark.parametrize(
    "text",
    [
        "berapa biaya ukt semester ini",
        "kapan wisuda",
        "halo kak, dimana parkir motor",
        "siapa presiden indonesia",
        "where can I eat in Denpasar?",
    ],
)
def test_out_of_scope_gets_no_topic(matcher: Matcher, text: str) -> None:
    found = matcher.match(text)
    assert found.topic is None
    assert found.escalate
    assert "di_luar_topik" not in found.candidates


def test_handover_escalates(matcher: Matcher) -> None:
    found = matcher.match("saya mau bicara dengan admin")
    assert found.topic == "hubungi_staf"
    assert found.escalate


def test_ticket_status(matcher: Matcher) -> None:
    assert matcher.match("status tiket saya gimana?").topic == "status_tiket"


@pytest.mark.parametrize("text", ["", "   ", "🙏🙏😀", "?!...", "x" * 100_000, "lupa " * 20_000])
def test_odd_input_does_not_crash(matcher: Matcher, text: str) -> None:
    found = matcher.match(text)
    assert 0.0 <= found.confidence <= 1.0
    assert len(found.candidates) <= 3


def test_empty_text_is_not_confident(matcher: Matcher) -> None:
    found = matcher.match("")
    assert (found.topic, found.confidence, found.escalate) == (None, 0.0, True)


def test_only_the_start_of_long_text_counts(matcher: Matcher) -> None:
    text = "lupa password " + "x " * MAX_CHARS + " sertifikat pditt"
    assert matcher.match(text).topic == "lupa_password"


def test_candidates_are_best_first(matcher: Matcher) -> None:
    found = matcher.match("sertifikat pditt")
    assert found.candidates[0] == "sertifikat"
    assert len(set(found.candidates)) == len(found.candidates)


def test_threshold_is_respected() -> None:
    strict = Matcher(KnowledgeBase.load(), threshold=1.01)
    found = strict.match("saya lupa password akun e-learning")
    assert found.topic is None
    assert found.candidates[0] == "lupa_password"


def test_guess_language() -> None:
    assert guess_language("how do I reset my password") == "en"
    assert guess_language("bagaimana cara reset password saya") == "id"
    assert guess_language("") == "id"


def test_normalisation() -> None:
    assert words("Gmn sy gak bisa login ke e-learning???") == [
        "bagaimana",
        "saya",
        "tidak",
        "bisa",
        "login",
        "ke",
        "elearning",
    ]
    assert words("matkul") == words("mata kuliah") == ["matakuliah"]


def test_stemmer_strips_affixes_and_clitics() -> None:
    stemmer = Stemmer()
    assert stemmer.stem("pendaftaran") == "daftar"
    assert stemmer.stem("passwordnya") == "password"
