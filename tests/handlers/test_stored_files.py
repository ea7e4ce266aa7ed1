"""Files named in an outbox message and loaded when it is sent (handlers.stored_files)."""

from __future__ import annotations

import pytest

from handlers.messages import Attachment, Channel, Outbound
from handlers.stored_files import (
    FILE_REFS,
    MAX_FORWARDED,
    attach,
    generated_name,
    kept,
    left_out,
    to_extra,
)


@pytest.mark.parametrize(
    ("name", "mime_type", "expected"),
    [
        ("layar.PNG", "image/png", "lampiran-1.png"),
        ("../../etc/passwd", "text/plain", "lampiran-1.txt"),
        ("laporan akhir.docx", "application/octet-stream", "lampiran-1.docx"),
        ("tanpa-ekstensi", "application/x-unknown-thing", "lampiran-1.bin"),
        ("a.tar.gz", "application/gzip", "lampiran-1.bin"),
        ("setup.exe", "application/x-msdownload", "lampiran-1.bin"),
        ("index.html", "text/html", "lampiran-1.bin"),
        ("foto", "image/jpeg", "lampiran-1.jpg"),
    ],
)
def test_a_file_goes_out_under_a_generated_name(name: str, mime_type: str, expected: str) -> None:
    assert generated_name(1, name, mime_type) == expected


def test_only_kept_files_are_forwarded_and_not_too_many() -> None:
    files = [
        Attachment("photo", "email:a@b#0", "layar.png", "image/png", 50),
        Attachment("document", "", "besar.pdf", "application/pdf", 50_000_000),  # over limit
        *(Attachment("document", f"email:a@b#{i}", None, None, 1) for i in range(1, 9)),
    ]
    found = kept(files, Channel.EMAIL)
    assert [f.ref for f in found][:2] == ["email:a@b#0", "email:a@b#1"]
    assert len(found) == MAX_FORWARDED
    assert found[1].name == "document" and found[1].mime_type == "application/octet-stream"


def test_a_telegram_file_is_named_by_its_channel_and_a_sticker_is_no_file() -> None:
    files = [
        Attachment("sticker", "CAACAgIAAxkBAAIB"),
        Attachment("photo", "AgACAgUAAxkBAAIC", size=10),
        Attachment("document", "BQACAgUAAxkBAAID", "nilai.xlsx", None),
    ]
    found = kept(files, Channel.TELEGRAM)
    assert [(f.ref, f.name, f.mime_type) for f in found] == [
        ("telegram:AgACAgUAAxkBAAIC", "photo", "image/jpeg"),
        ("telegram:BQACAgUAAxkBAAID", "nilai.xlsx", "application/octet-stream"),
    ]


async def test_files_are_loaded_and_a_gone_one_is_said() -> None:
    stored = {"email:a@b#0": b"png bytes"}

    async def load(ref: str) -> bytes | None:
        return stored.get(ref)

    files = kept(
        [
            Attachment("photo", "email:a@b#0", "layar.png", "image/png"),
            Attachment("document", "email:a@b#1", "<b>log</b>.pdf", "application/pdf"),
        ],
        Channel.EMAIL,
    )
    outbound = Outbound(Channel.TELEGRAM, "-100", "📎 Lampiran", extra=to_extra(files))
    sent = await attach(outbound, load)
    assert [(f.name, f.data) for f in sent.files] == [("lampiran-1.png", b"png bytes")]
    assert "&lt;b&gt;log&lt;/b&gt;.pdf" in sent.html  # the sender's file name, escaped

    untouched = Outbound(Channel.TELEGRAM, "-100", "teks")
    assert await attach(untouched, load) is untouched
    assert to_extra([]) == {} and FILE_REFS in to_extra(files)


async def test_without_a_loader_every_file_is_said_gone() -> None:
    files = kept([Attachment("photo", "email:a@b#0", "layar.png", "image/png")], Channel.EMAIL)
    outbound = Outbound(Channel.EMAIL, "staf@unr.example", "x", extra=to_extra(files))
    sent = await attach(outbound, None)
    assert sent.files == () and "tidak tersedia lagi" in sent.html and "layar.png" in sent.html


async def test_files_keep_their_numbers_one_a_message_and_in_rows_queued_before_numbers() -> None:
    async def load(ref: str) -> bytes | None:
        return ref.encode()

    files = kept(
        [
            Attachment("document", f"email:a@b#{i}", f"bab-{i}.pdf", "application/pdf")
            for i in (0, 1, 2)
        ],
        Channel.EMAIL,
    )
    # Telegram gets one file a message: the third is still lampiran-3, not a second lampiran-1.
    alone = [
        await attach(Outbound(Channel.TELEGRAM, "-100", "📎", extra=to_extra([f])), load)
        for f in files
    ]
    assert [sent.files[0].name for sent in alone] == [
        "lampiran-1.pdf",
        "lampiran-2.pdf",
        "lampiran-3.pdf",
    ]
    # An outbox row written by the previous version lists three fields a file.
    old_row = {FILE_REFS: '[["email:a@b#0", "x.exe", "application/x-msdownload"], '
                          '["email:a@b#1", "y.png", "image/png"]]'}  # fmt: skip
    sent = await attach(Outbound(Channel.EMAIL, "staf@unr.example", "x", extra=old_row), load)
    assert [(f.name, f.mime_type) for f in sent.files] == [
        ("lampiran-1.bin", "application/octet-stream"),
        ("lampiran-2.png", "image/png"),
    ]


@pytest.mark.parametrize(
    "listed",
    ["not json", "null", "[1]", '[["email:a@b#0", "x.pdf"]]', '{"a": 1}',
     '[["email:a@b#0", "x.pdf", "application/pdf", "satu"]]', '[[{}, "x", "y"]]'],
)  # fmt: skip
async def test_a_damaged_file_list_lets_the_text_go_saying_the_files_did_not(
    listed: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def load(ref: str) -> bytes | None:
        return b"data"

    outbound = Outbound(Channel.TELEGRAM, "-100", "Kartu tiket", extra={FILE_REFS: listed})
    sent = await attach(outbound, load)
    assert sent.files == ()
    assert sent.html.startswith("Kartu tiket\n") and "tidak tersedia" in sent.html
    assert "lists its files wrongly" in caplog.text


def test_files_not_forwarded_are_named_for_staff() -> None:
    files = [
        Attachment("document", "", "besar.pdf", "application/pdf", 50_000_000),  # over limit
        Attachment("document", "email:a@b#1", "kosong.txt", "text/plain", 0),
        Attachment("sticker", "CAACAgIAAxkBAAIB"),
        *(Attachment("photo", f"email:a@b#{i}", f"foto-{i}.jpg", "image/jpeg", 9)
          for i in range(2, 9)),
    ]  # fmt: skip
    assert [f.name for f in kept(files, Channel.EMAIL)] == [f"foto-{i}.jpg" for i in range(2, 7)]
    assert left_out(files) == ["besar.pdf", "kosong.txt", "foto-7.jpg", "foto-8.jpg"]
    assert left_out(files[3:5]) == []
