"""The weekly digest leaves the outbox through the real SMTP transport, files and all, once."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook

from handlers.messages import Channel, Outbound
from handlers.sender import OutboxSender
from mail.transport import SmtpOptions, SmtpTransport
from schedules.runner import Scheduler
from tests.mailservers import SmtpSink, smtp_sink_fixture  # noqa: F401

from .helpers import FakeClock, Sessions, local
from .test_digest import CONFIG, MONDAY, _seed

pytestmark = pytest.mark.db


@pytest.fixture
async def transport(smtp_sink: SmtpSink) -> AsyncIterator[SmtpTransport]:
    async def failed(outbound: Outbound, reason: str) -> None:
        raise AssertionError(f"the digest to {outbound.chat_id} failed: {reason}")

    options = SmtpOptions(
        host=smtp_sink.host,
        port=smtp_sink.port,
        sender="elearning@unr.example",
        security="none",
        timeout=5.0,
    )
    smtp = SmtpTransport(options, on_failure=failed)
    yield smtp
    await smtp.close()


async def test_the_digest_reaches_each_recipient_with_chart_and_report(
    sessions: Sessions, smtp_sink: SmtpSink, transport: SmtpTransport
) -> None:
    await _seed(sessions)
    assert await Scheduler(sessions, CONFIG, clock=FakeClock(local(MONDAY))).digest() is True
    sender = OutboxSender(sessions, {Channel.EMAIL: transport})

    await sender.send_due()
    await sender.send_due()  # nothing left: a second round sends nothing again

    captured = await smtp_sink.wait_for(2)
    assert sorted(c.rcpt_tos[0] for c in captured) == ["b@unr.ac.id", "kepala@unr.ac.id"]
    assert len(smtp_sink.messages) == 2
    message = captured[0].message
    assert message["Subject"].startswith("Ringkasan mingguan Helpdesk E-learning")
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and "Pesan: 6" in plain.get_content()
    assert "7 baris, XLSX" in plain.get_content()
    assert html is not None and 'src="cid:chart"' in html.get_content()
    parts = {part.get_content_type(): part for part in message.walk()}
    chart = parts["image/png"]
    assert chart["Content-ID"] == "<chart>"
    assert chart.get_content().startswith(b"\x89PNG")
    [sheet] = [p for p in message.iter_attachments() if p.get_filename("").endswith(".xlsx")]
    rows = list(load_workbook(io.BytesIO(sheet.get_content()), read_only=True).active.values)
    assert len(rows) == 1 + 7  # header and the week's rows
