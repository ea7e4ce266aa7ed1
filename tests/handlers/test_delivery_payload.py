"""The outbox form of a message keeps everything a channel needs, files included."""

from __future__ import annotations

from handlers.delivery import from_payload, to_payload
from handlers.messages import Button, Channel, Outbound, OutFile
from storage.models import OutboxMessage


def test_a_message_with_files_survives_the_outbox() -> None:
    outbound = Outbound(
        channel=Channel.EMAIL,
        chat_id="dosen@example.ac.id",
        html="<b>Ringkasan</b>",
        buttons=((Button("Ya", "y:1"),),),
        subject="Ringkasan mingguan",
        files=(
            OutFile("grafik.png", "image/png", b"\x89PNG\x00\xff", inline_id="chart"),
            OutFile("laporan.xlsx", "application/vnd.ms-excel", b"PK\x03\x04"),
        ),
        email_html="<html><body><img src='cid:chart'></body></html>",
    )
    stored = OutboxMessage(channel="email", chat_id=outbound.chat_id, payload=to_payload(outbound))

    assert from_payload(stored) == outbound


def test_a_payload_written_before_files_existed_still_reads() -> None:
    old = {"html": "hai", "buttons": [], "purpose": "reply", "extra": {}}
    stored = OutboxMessage(channel="telegram", chat_id="42", payload=old)

    message = from_payload(stored)

    assert message.files == ()
    assert message.email_html is None
