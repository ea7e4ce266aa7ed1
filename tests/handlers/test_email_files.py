"""An email's files reach staff with its card, even without an automatic reply."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from handlers.knowledge import KnowledgeBase
from mail.decode import to_inbound
from mail.parsing import parse_message
from storage.models import OutboxMessage

from .chat import OUR_ADDRESS, STAFF_CHAT, Sessions, email_in, handle, make_helpdesk

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _files_to_staff(queued: list[OutboxMessage]) -> list[str]:
    return [m.payload["html"] for m in queued
            if m.chat_id == STAFF_CHAT and "file_refs" in m.payload["extra"]]  # fmt: skip


async def test_a_quietly_forwarded_email_keeps_its_file(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    # Exchange marks some people's mail "no automatic answers": staff answer it instead.
    helpdesk = make_helpdesk(kb)
    sender = "dosen@unr.ac.id"
    first = email_in(sender, "Nilai tidak masuk", "Berkas nilai terlampir.", file=b"%PDF-1",
                     X_Auto_Response_Suppress="All")  # fmt: skip
    queued = await handle(sessions, helpdesk, first)
    assert all(m.chat_id != sender for m in queued)  # no automatic reply
    assert len(_files_to_staff(queued)) == 1

    again = email_in(sender, "Re: Nilai tidak masuk", "Yang benar ini.", file=b"%PDF-2",
                     X_Auto_Response_Suppress="All")  # fmt: skip
    queued = await handle(sessions, helpdesk, again)
    assert all(m.chat_id != sender for m in queued)
    assert len(_files_to_staff(queued)) == 1


async def test_staff_are_told_which_files_did_not_come_along(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    message = EmailMessage()
    message["From"] = "Dosen <dosen@unr.ac.id>"
    message["To"] = OUR_ADDRESS
    message["Subject"] = "Tolong hubungi staf: berkas nilai"
    message["Message-ID"] = "<tujuh-berkas@unr.ac.id>"
    message.set_content("Saya ingin bicara dengan staf tentang berkas-berkas ini.")
    message.add_attachment(b"", "text", "plain", filename="kosong.txt")
    for number in range(1, 8):
        message.add_attachment(b"%PDF", "application", "pdf", filename=f"bab-{number}.pdf")
    inbound = to_inbound(parse_message(message.as_bytes()), own=(OUR_ADDRESS,))

    queued = await handle(sessions, make_helpdesk(kb), inbound)
    to_group = [m.payload["html"] for m in queued if m.chat_id == STAFF_CHAT]
    assert len(_files_to_staff(queued)) == 5
    [note] = [html for html in to_group if "Tidak diteruskan" in html]
    assert "kosong.txt" in note and "bab-6.pdf" in note and "bab-7.pdf" in note
    assert "bab-5.pdf" not in note
