"""Files in an email that gets no automatic reply still reach staff with its card."""

from __future__ import annotations

import pytest

from handlers.knowledge import KnowledgeBase
from storage.models import OutboxMessage

from .chat import STAFF_CHAT, Sessions, email_in, handle, make_helpdesk

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
