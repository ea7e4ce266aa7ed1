"""Tests of mail.parsing: the field cases, MIME shapes, limits and fuzzed input."""

from __future__ import annotations

import email
import functools
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail import parsing
from mail.parsing import ParsedMail, digest_key, parse_message

CASES = Path(__file__).resolve().parents[3] / "shared" / "cases" / "mail"
CASE_NAMES = (
    "C13_2_bad_base64.eml",
    "C14_broken_from.eml",
    "C15_1_uft8.eml",
    "C16_1_ascii_label_utf8_body.eml",
    "C17_no_boundary_report.eml",
    "C18_html_only_alternative.eml",
    "C21_no_message_id.eml",
    "C23a_out_of_office.eml",
    "C24_dsn_nested_alternative.eml",
    "C26_nul_bytes.eml",
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


@functools.cache
def case_bytes() -> dict[str, bytes]:
    """The field cases by file name; empty when shared/ is not beside the checkout."""
    if not CASES.is_dir():
        return {}
    return {path.name: path.read_bytes() for path in sorted(CASES.glob("*.eml"))}


def case(name: str) -> bytes:
    cases = case_bytes()
    if not cases:
        pytest.skip(f"field cases not found at {CASES}")
    return cases[name]


def parse_case(name: str) -> ParsedMail:
    return parse_message(case(name))


def build(
    body: str = "Hello", *, subtype: str = "plain", headers: dict[str, str] | None = None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Ani <ani@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Question"
    msg["Message-ID"] = "<q1@example.org>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body, subtype=subtype)
    return msg


def assert_storable(mail: ParsedMail) -> None:
    """Nothing PostgreSQL would refuse and nothing that could start a new header line."""
    for value in (mail.subject, mail.from_name or "", mail.text, mail.new_text):
        assert "\x00" not in value
        value.encode("utf-8")
    for value in (mail.subject, mail.from_name or ""):
        assert "\r" not in value and "\n" not in value
    assert mail.dedup_key


# --- the field cases -------------------------------------------------------------------


def test_every_case_file_has_a_test() -> None:
    if not case_bytes():
        pytest.skip(f"field cases not found at {CASES}")
    assert set(case_bytes()) == set(CASE_NAMES)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_parses_cleanly(name: str) -> None:
    mail = parse_case(name)

    assert mail.parse_error is None
    assert "\ufffd" not in mail.text + mail.subject
    assert mail.text.strip()
    assert_storable(mail)


def test_c13_bad_encoded_word_falls_back_to_raw_text() -> None:
    mail = parse_case("C13_2_bad_base64.eml")

    assert mail.subject == "=?utf-8?B?a?="
    assert mail.from_name == "=?utf-8?B?a?="
    assert mail.from_address == "customer2@example.org"
    assert mail.text == "Laptop will not boot."


def test_c13_does_not_affect_the_next_message() -> None:
    first = parse_case("C13_2_bad_base64.eml")
    second = parse_case("C15_1_uft8.eml")

    assert first.message_id == "c13-2@example.org"
    assert second.subject == "Coffee"


def test_c14_real_address_found_in_mangled_from() -> None:
    mail = parse_case("C14_broken_from.eml")

    assert mail.from_address == "help@vendor.example"
    assert mail.subject == "Notificación de acceso"


def test_c14_kind_from_without_any_address_gives_none() -> None:
    raw = case("C14_broken_from.eml").replace(b"<help@vendor.example>", b"help at vendor")

    mail = parse_message(raw)

    assert mail.from_address is None
    assert mail.parse_error is None


def test_c15_misspelled_charset_decodes_as_utf8() -> None:
    mail = parse_case("C15_1_uft8.eml")

    assert mail.text == "Merci, café froid"
    assert any("uft-8" in defect for defect in mail.defects)


def test_c16_ascii_label_with_utf8_bytes() -> None:
    mail = parse_case("C16_1_ascii_label_utf8_body.eml")

    assert mail.text == "The café printer — still broken"


def test_c17_report_without_boundary_is_a_report() -> None:
    mail = parse_case("C17_no_boundary_report.eml")

    assert mail.is_report
    assert mail.report_recipients == ("customer9@example.org",)
    assert mail.return_path == "<>"
    assert "NoBoundaryInMultipartDefect" in mail.defects


def test_c18_html_only_becomes_text_with_line_breaks() -> None:
    mail = parse_case("C18_html_only_alternative.eml")

    assert mail.html_converted
    assert mail.text == "My VPN is down since 08:00.\nError 809."
    assert "alert" not in mail.text and "color" not in mail.text
    assert mail.new_text


def test_c21_no_message_id_gets_a_stable_digest() -> None:
    raw = case("C21_no_message_id.eml")

    first, again = parse_message(raw), parse_message(raw)
    other = parse_message(raw.replace(b"jam", b"fire"))

    assert first.message_id is None
    assert first.dedup_key.startswith("sha256:")
    assert first.dedup_key == again.dedup_key
    assert other.dedup_key != first.dedup_key


def test_c21_digest_ignores_line_endings() -> None:
    raw = case("C21_no_message_id.eml")

    assert parse_message(raw.replace(b"\r\n", b"\n")).dedup_key == digest_key(raw)


def test_c23a_out_of_office_headers_and_thread() -> None:
    mail = parse_case("C23a_out_of_office.eml")

    assert mail.in_reply_to == "ack-1042@example.com"
    assert mail.references == ("ack-1042@example.com",)
    assert mail.auto_submitted == "auto-replied"
    assert mail.x_auto_response_suppress == "All"


def test_c24_dsn_recipient_and_original_message() -> None:
    mail = parse_case("C24_dsn_nested_alternative.eml")

    assert mail.is_report
    assert mail.report_recipients == ("customer9@example.org",)
    assert mail.report_original_message_id == "ack-1044@example.com"
    assert mail.text.startswith("Delivery to the following recipient failed permanently")
    assert mail.attachments == ()


def test_c26_nul_removed_literal_kept() -> None:
    mail = parse_case("C26_nul_bytes.eml")

    assert mail.subject == "Scan error tray 2"
    assert mail.text == "Tray 2 reports error 0x00 after reboot."


# --- headers ---------------------------------------------------------------------------


def test_basic_headers() -> None:
    msg = build(headers={"Date": "Tue, 04 Jun 2024 08:00:00 -0000", "Reply-To": "B@X.org"})

    mail = parse_message(msg.as_bytes())

    assert mail.message_id == "q1@example.org"
    assert mail.dedup_key == "q1@example.org"
    assert (mail.from_address, mail.from_name) == ("ani@example.org", "Ani")
    assert mail.reply_to_address == "b@x.org"
    assert mail.to_addresses == ("support@example.com",)
    assert mail.date == datetime(2024, 6, 4, 8, 0, tzinfo=UTC)


def test_crlf_in_encoded_subject_and_name_cannot_inject_headers() -> None:
    raw = (
        b"From: =?utf-8?q?Evil=0D=0ABcc=3A_x=40y=2Eorg?= <evil@example.org>\r\n"
        b"Subject: =?utf-8?q?Hi=0D=0ABcc=3A_victim=40example=2Eorg?=\r\n\r\nbody\r\n"
    )

    mail = parse_message(raw)

    assert mail.subject == "Hi Bcc: victim@example.org"
    assert mail.from_name == "Evil Bcc: x@y.org"
    assert mail.from_address == "evil@example.org"


def test_raw_utf8_and_cp1252_headers_decode() -> None:
    raw = "Subject: Tugas kuliah café\r\nFrom: Dédé <d@example.org>\r\n\r\nx".encode()
    latin = "Subject: caf\xe9 cr\xe8me\r\n\r\nx".encode("cp1252")

    assert parse_message(raw).subject == "Tugas kuliah café"
    assert parse_message(raw).from_name == "Dédé"
    assert parse_message(latin).subject == "café crème"


def test_unknown_charset_in_encoded_word() -> None:
    raw = b"Subject: =?x-unknown?q?caf=C3=A9?= ok\r\n\r\nx"

    assert parse_message(raw).subject == "café ok"


def test_references_and_bad_date() -> None:
    raw = b"References: <a@x> <b@x>\r\n  <c@x>\r\nDate: yesterday\r\nIn-Reply-To: z@x\r\n\r\nx"

    mail = parse_message(raw)

    assert mail.references == ("a@x", "b@x", "c@x")
    assert mail.in_reply_to == "z@x"
    assert mail.date is None


def test_absurd_message_id_falls_back_to_digest() -> None:
    raw = b"Message-ID: <" + b"a" * 5000 + b"@x>\r\n\r\nbody"

    mail = parse_message(raw)

    assert mail.message_id is None
    assert mail.dedup_key == digest_key(raw)


def test_huge_address_header_still_finds_address() -> None:
    raw = b"From: " + b"x" * 50_000 + b" <big@example.org>\r\n\r\nbody"

    assert parse_message(raw).from_address is None  # past the scan window: no guessing
    small = b"From: " + b"x" * 5_000 + b" <big@example.org>\r\n\r\nbody"
    assert parse_message(small).from_address == "big@example.org"


# --- bodies and attachments ------------------------------------------------------------


def test_alternative_prefers_plain_text() -> None:
    msg = build("plain version")
    msg.add_alternative("<p>html version</p>", subtype="html")

    mail = parse_message(msg.as_bytes())

    assert mail.text == "plain version"
    assert not mail.html_converted


def test_empty_plain_alternative_falls_back_to_html() -> None:
    msg = build(" \n")
    msg.add_alternative("<p>only here</p>", subtype="html")

    assert parse_message(msg.as_bytes()).text == "only here"


def test_attachments_recorded_and_capped() -> None:
    msg = build("see attached")
    msg.add_attachment(b"x" * 100, maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(b"y" * 5000, maintype="image", subtype="png", filename="../../big.png")

    mail = parse_message(msg.as_bytes(), max_attachment_bytes=1000)

    small, big = mail.attachments
    assert (small.filename, small.content_type, small.size) == ("a.pdf", "application/pdf", 100)
    assert small.content == b"x" * 100
    assert (big.filename, big.size, big.content) == ("big.png", 5000, None)
    assert mail.text == "see attached"


def test_filename_with_control_characters_is_sanitised() -> None:
    msg = build("x")
    msg.add_attachment(b"1", maintype="text", subtype="csv", filename="a\x00b.csv")

    assert parse_message(msg.as_bytes()).attachments[0].filename == "ab.csv"


def test_long_body_is_capped_and_marked() -> None:
    mail = parse_message(build("é" * 100_000).as_bytes(), max_text_chars=1000)

    assert mail.text_truncated
    assert mail.text == "é" * 1000


def test_short_body_not_marked_truncated() -> None:
    assert not parse_message(build("short").as_bytes()).text_truncated


def test_new_text_drops_quote_and_signature() -> None:
    body = "Thanks, it works.\n-- \nAni\n\nOn Mon, 3 Jun 2024 Helpdesk <s@x.org> wrote:\n> old"

    mail = parse_message(build(body).as_bytes())

    assert mail.new_text == "Thanks, it works."
    assert "> old" in mail.text


def test_dsn_with_delayed_action_is_not_a_failure() -> None:
    raw = (
        b"From: MAILER-DAEMON@x.org\r\nContent-Type: multipart/report; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nstill trying\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        b"Final-Recipient: rfc822; slow@example.org\r\nAction: delayed\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\n\r\n--b--\r\n"
    )

    assert parse_message(raw).report_recipients == ("gone@example.org",)


def test_unparseable_input_is_salvaged(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(raw: bytes) -> tuple[object, list[str]]:
        raise RuntimeError("boom")

    monkeypatch.setattr(parsing, "_message_from", explode)

    mail = parse_message(b"Subject: x\r\n\r\nbody\x00 text")

    assert mail.parse_error == "RuntimeError: boom"
    assert mail.dedup_key.startswith("sha256:")
    assert "body text" in mail.text


def test_compat32_used_when_policy_default_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    real = email.message_from_bytes

    def strict_fails(raw: bytes, **kwargs: object) -> object:
        if kwargs.get("policy") is policy.default:
            raise IndexError("header parser bug")
        return real(raw, **kwargs)

    monkeypatch.setattr(email, "message_from_bytes", strict_fails)

    mail = parse_message(build("still read").as_bytes())

    assert mail.text == "still read"
    assert mail.from_address == "ani@example.org"
    assert any("compat32" in defect for defect in mail.defects)


# --- fuzzing ---------------------------------------------------------------------------


def check_never_raises(raw: bytes) -> None:
    mail = parse_message(raw, max_text_chars=2000, max_attachment_bytes=1000)

    assert_storable(mail)
    assert len(mail.text) <= 2000
    assert all(a.content is None or len(a.content) <= 1000 for a in mail.attachments)


@FUZZ
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    check_never_raises(raw)


ODD_CHARSETS = [b"utf-16", b"x-bogus", b"base64", b"rot13", b'"', b""]
MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("nul"), st.integers(0, 10_000), st.integers(1, 50)),
    st.tuples(st.just("header"), st.sampled_from([b"Subject", b"From", b"To"]), st.integers(1, 5)),
    st.tuples(st.just("charset"), st.sampled_from(ODD_CHARSETS), st.just(0)),
)


def mutate(raw: bytes, mutation: tuple[str, object, object]) -> bytes:
    op, where, amount = mutation
    position = where % max(len(raw), 1) if isinstance(where, int) else 0
    if op == "flip":
        assert isinstance(amount, int)
        if not raw:
            return raw
        return raw[:position] + bytes([raw[position] ^ amount]) + raw[position + 1 :]
    if op == "cut":
        return raw[:position]
    if op == "nul":
        assert isinstance(amount, int)
        return raw[:position] + b"\x00" * amount + raw[position:]
    if op == "header":
        assert isinstance(where, bytes) and isinstance(amount, int)
        return where + b": " + b"=?utf-8?B?QQ?= \xff<a@b>" * (2000 * amount) + b"\r\n" + raw
    assert isinstance(where, bytes)
    return raw.replace(b"charset=", b"charset=" + where + b";x=")


@FUZZ
@given(st.sampled_from(CASE_NAMES), st.lists(MUTATIONS, min_size=1, max_size=4))
def test_mutated_cases_never_raise(name: str, mutations: list[tuple[str, object, object]]) -> None:
    raw = case(name)
    for mutation in mutations:
        raw = mutate(raw, mutation)

    check_never_raises(raw)
