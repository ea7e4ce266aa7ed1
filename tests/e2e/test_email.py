"""The email channel end to end: Dovecot in, the helpdesk, aiosmtpd out, Telegram beside."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.settings import Settings
from storage.models import Identity, InboundUpdate, Interaction, Ticket
from tests.botapi.server import FakeBotApi
from tests.e2e.harness import STAFF_GROUP, STAFF_ID, STUDENT_ID, RunningHelpdesk, eventually
from tests.e2e.mail_harness import STAFF_ADDRESS, append, mail_settings, make_mail, to_address
from tests.mailservers import DovecotServer, SmtpSink
from tests.mailservers import dovecot_server_fixture, smtp_sink_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.db]

USER = "dosen.wayan@unr.example"
QUESTION = "Saya lupa password akun e-learning, bagaimana cara reset?"
HANDOVER = "Mohon dibuatkan ruang kelas daring untuk mata kuliah khusus kerjasama mitra"


@pytest.fixture
def settings(
    api: FakeBotApi, database_url: str, tmp_path: Path, dovecot_server: DovecotServer,
    smtp_sink: SmtpSink,
) -> Settings:  # fmt: skip
    return mail_settings(api, database_url, dovecot_server, smtp_sink, state_dir=tmp_path)


@pytest.fixture
async def helpdesk(settings: Settings) -> AsyncIterator[RunningHelpdesk]:
    running = RunningHelpdesk(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_question_answered_with_threading_headers(
    helpdesk: RunningHelpdesk, dovecot_server: DovecotServer, smtp_sink: SmtpSink
) -> None:
    raw, mid = make_mail(f"Wayan <{USER}>", "Lupa password", QUESTION)
    uid = await append(dovecot_server, raw)

    await smtp_sink.wait_for(1, timeout=20)
    [reply] = to_address(smtp_sink, USER)
    message = reply.message
    assert message["In-Reply-To"] == f"<{mid}>"
    assert f"<{mid}>" in message["References"]
    assert message["Subject"].startswith("Re: Lupa password")
    assert message["Message-ID"] and mid not in message["Message-ID"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    assert "kata sandi" in message.get_body(("plain",)).get_content().lower()
    await eventually(lambda: _seen(dovecot_server, uid))


async def _seen(dovecot: DovecotServer, uid: int) -> bool:
    return "\\Seen" in dovecot.flags(uid)
