"""The SMTP transport against a real aiosmtpd server: headers, bodies, files, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from handlers.delivery import Rejected, RetryLater, Unreachable
from handlers.messages import Channel, Outbound, OutFile
from mail.transport import SmtpOptions, SmtpTransport
from tests.e2e.mail_harness import body_text
from tests.mailservers import SmtpSink, smtp_sink_fixture  # noqa: F401
from tests.mailservers.dovecot import free_port

_made: list[SmtpTransport] = []


@pytest.fixture(autouse=True)
async def _close_transports() -> AsyncIterator[None]:
    yield
    while _made:
        await _made.pop().close()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def transport_for(
    sink: SmtpSink, **options: object
) -> tuple[SmtpTransport, list[tuple[object, ...]]]:
    statuses: list[tuple[object, ...]] = []
    failures: list[tuple[object, ...]] = []

    async def failed(outbound: Outbound, reason: str) -> None:
        failures.append((outbound.chat_id, reason))

    values = {"host": sink.host, "port": sink.port, "sender": "elearning@unr.example",
              "security": "none", "timeout": 5.0, "retry_min": 0.1, "retry_max": 0.2,
              **options}  # fmt: skip
    transport = SmtpTransport(
        SmtpOptions(**values),  # type: ignore[arg-type]
        on_failure=failed,
        on_status=lambda *args: statuses.append(args),
    )
    transport.failures = failures  # type: ignore[attr-defined]
    _made.append(transport)
    return transport, statuses


def outbound(**fields: object) -> Outbound:
    values = {"channel": Channel.EMAIL, "chat_id": "dosen@unr.example", "html": "Halo <b>Bu</b>"}
    return Outbound(**{**values, **fields})  # type: ignore[arg-type]


async def test_headers_cannot_be_injected_through_subject_or_names(smtp_sink: SmtpSink) -> None:
    transport, statuses = transport_for(smtp_sink, sender_name="Helpdesk\r\nBcc: x@evil.example")
    evil = "Tanya\r\nBcc: victim@evil.example\nX-Injected: yes"
    ref = await transport.deliver(outbound(subject=evil, ticket_id=7))

    [captured] = await smtp_sink.wait_for(1)
    message = captured.message
    assert captured.rcpt_tos == ["dosen@unr.example"]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["Subject"] == "Tanya Bcc: victim@evil.example X-Injected: yes [#7]"
    assert ref is not None and message["Message-ID"] == f"<{ref}>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert statuses[-1] == ("smtp", True, "sent")


async def test_a_recipient_that_is_not_one_address_is_rejected(smtp_sink: SmtpSink) -> None:
    transport, _ = transport_for(smtp_sink)
    with pytest.raises(Rejected):
        await transport.deliver(outbound(chat_id="a@b.example\r\nRCPT TO:<c@d.example>"))
    assert smtp_sink.messages == []


async def test_text_html_attachments_and_inline_images(smtp_sink: SmtpSink) -> None:
    transport, _ = transport_for(smtp_sink)
    files = (
        OutFile("grafik.png", "image/png", PNG, inline_id="grafik1"),
        OutFile("laporan\r\n.xlsx", "application/vnd.ms-excel", b"xlsx-bytes"),
    )
    html = '<h1>Ringkasan</h1><p>Minggu ini</p><img src="cid:grafik1">'
    await transport.deliver(outbound(files=files, email_html=html, purpose="digest"))

    [captured] = await smtp_sink.wait_for(1)
    message = captured.message
    assert "Ringkasan" in body_text(message)
    assert 'src="cid:grafik1"' in body_text(message, "html")
    related = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    [image] = [p for p in related[0].iter_parts() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<grafik1>" and image.get_content() == PNG
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "laporan .xlsx"
    assert attachment.get_content() == b"xlsx-bytes"


async def test_staff_answer_carries_no_auto_submitted(smtp_sink: SmtpSink) -> None:
    transport, _ = transport_for(smtp_sink)
    await transport.deliver(outbound(extra={"by_staff": "1"}, reply_to_ref="abc@client.example"))

    [captured] = await smtp_sink.wait_for(1)
    assert captured.message["Auto-Submitted"] is None
    assert captured.message["In-Reply-To"] == "<abc@client.example>"
    assert captured.message["Subject"].startswith("Re: ")


@pytest.mark.parametrize("stage", ["MAIL", "DATA"])
async def test_temporary_refusal_is_retried_later(smtp_sink: SmtpSink, stage: str) -> None:
    transport, _ = transport_for(smtp_sink)
    smtp_sink.fail_with(451, "Try again later", on=stage)  # type: ignore[arg-type]
    with pytest.raises(RetryLater) as caught:
        await transport.deliver(outbound())
    assert caught.value.after is None  # the sender's backoff and attempt limit apply

    smtp_sink.clear_failure()
    assert await transport.deliver(outbound())
    assert len(smtp_sink.messages) == 1


async def test_refused_recipient_is_unreachable_and_reported(smtp_sink: SmtpSink) -> None:
    transport, _statuses = transport_for(smtp_sink)
    smtp_sink.fail_with(550, "No such user", on="RCPT")
    with pytest.raises(Unreachable):
        await transport.deliver(outbound())
    assert transport.failures == [("dosen@unr.example", "550 No such user")]  # type: ignore[attr-defined]


async def test_permanent_refusal_of_the_message_is_rejected(smtp_sink: SmtpSink) -> None:
    transport, _ = transport_for(smtp_sink)
    smtp_sink.fail_with(554, "Message refused", on="DATA")
    with pytest.raises(Rejected):
        await transport.deliver(outbound())
    assert transport.failures  # type: ignore[attr-defined]


async def test_server_away_waits_with_growing_backoff() -> None:
    port = free_port()
    transport, statuses = transport_for(SmtpSink(port=port), retry_min=1.0, retry_max=4.0)
    delays = []
    for _ in range(4):
        with pytest.raises(RetryLater) as caught:
            await transport.deliver(outbound())
        delays.append(caught.value.after)
    assert all(d is not None for d in delays)
    assert 0.7 <= delays[0] <= 1.0 and 2.8 <= delays[3] <= 4.0  # type: ignore[operator]
    assert statuses[-1][:2] == ("smtp", False)


async def test_starttls_not_offered_never_sends_the_password() -> None:
    # C31, config C: the server does not offer STARTTLS; credentials must not go in clear.
    sink = SmtpSink(require_auth=("elearning", "rahasia"))
    async with sink:
        transport, _ = transport_for(
            sink, security="starttls", username="elearning", password="rahasia"
        )
        with pytest.raises(RetryLater):
            await transport.deliver(outbound())
        await asyncio.sleep(0.1)
    assert sink.messages == []


async def test_implicit_tls_and_auth() -> None:
    sink = SmtpSink(implicit_tls=True, require_auth=("elearning", "rahasia"))
    async with sink:
        transport, _ = transport_for(
            sink,
            security="ssl",
            username="elearning",
            password="rahasia",
            tls_context=sink.client_tls_context(),
        )
        await transport.deliver(outbound())
        [captured] = await sink.wait_for(1)
        await transport.close()
        await asyncio.sleep(0.2)  # a TLS socket closes a few loop turns after QUIT
    assert captured.auth_user == "elearning"
