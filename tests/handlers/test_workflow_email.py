"""A workflow step owned by someone reached only by email, marked done by replying SELESAI."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import select

from handlers.config import EmailRules
from handlers.knowledge import KnowledgeBase
from handlers.workflow_chat import done_by_reply, note_after_done
from storage.models import Interaction, OutboxMessage, Person, WorkflowInstance

from .chat import (
    OUR_ADDRESS,
    STAFF_CHAT,
    Sessions,
    command,
    email_in,
    handle,
    make_helpdesk,
    staff,
)

pytestmark = pytest.mark.db

PARTNER = "akademik@univx.ac.id"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "Selesai", (3, 7)),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "SELESAI.\nSudah ditandatangani.", (3, 7)),
        ("AW: Pengingat: Sertifikat [alur #12.2]", "  done! thanks", (12, 2)),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "*SELESAI*", (3, 7)),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "✅ Selesai, terima kasih", (3, 7)),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "\ufeff\u200bSelesai", (3, 7)),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", '"Selesai"', (3, 7)),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "Selesai?", None),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "selesai ? kapan tenggatnya", None),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "Selesainya kapan?", None),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "Belum selesai, minggu depan.", None),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "Selesaikan dulu langkah 6?", None),
        ("Re: Sertifikat: langkah 7 [alur #3.7]", "", None),
        ("Re: Sertifikat: langkah 7", "Selesai", None),
        ("Re: tiket [#3]", "Selesai", None),
    ],
)
def test_only_a_tagged_reply_beginning_with_selesai_marks_a_step(
    subject: str, text: str, expected: tuple[int, int] | None
) -> None:
    assert done_by_reply(subject, text) == expected


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("Selesai", ""),
        ("*SELESAI*!!", ""),
        ("Selesai. Sudah ditandatangani rektor.", "Sudah ditandatangani rektor."),
        ("DONE - nomor surat 12/UNR/2026", "nomor surat 12/UNR/2026"),
    ],
)
def test_what_a_selesai_reply_says_besides_the_word(text: str, note: str) -> None:
    assert note_after_done(text) == note


async def _instance(sessions: Sessions) -> WorkflowInstance:
    async with sessions() as session:
        return (await session.scalars(select(WorkflowInstance))).one()


async def test_partner_marks_the_last_step_done_by_replying_selesai(
    sessions: Sessions, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    helpdesk = make_helpdesk(kb)
    for who in ("111", "222"):
        await handle(sessions, helpdesk, command("start", user_id=who))
    await handle(
        sessions,
        helpdesk,
        staff("alur", f"mulai 6.C.f | Sertifikat MK Statistika | dosen=tg:111; wr1=tg:222; "
              f"mitra={PARTNER}"),
    )  # fmt: skip
    for _ in range(5):
        await handle(sessions, helpdesk, staff("alur", "selesai 1"))
    queued = await handle(sessions, helpdesk, staff("alur", "selesai 1"))

    # Step 7 is the partner's: by email, its subject tagged, its text saying how to finish.
    notice = next(m for m in queued if m.channel == "email")
    assert notice.chat_id == PARTNER
    assert notice.payload["subject"].endswith("[alur #1.7]")
    assert "SELESAI" in notice.payload["html"]
    reply_subject = f"Re: {notice.payload['subject']}"

    # An out-of-office answer that happens to begin with "done" finishes nothing.
    away = email_in(PARTNER, reply_subject, "Done for today: I am out of office until Monday.",
                  Auto_Submitted="auto-replied")  # fmt: skip
    assert await handle(sessions, helpdesk, away) == []
    # A stranger who copies the subject is refused, and who it was is logged.
    with caplog.at_level(logging.WARNING):
        refused = await handle(
            sessions, helpdesk, email_in("orang@lain.ac.id", reply_subject, "Selesai")
        )
    # Refused and logged; staff see the reply (they may know the sender after all).
    assert [m.chat_id for m in refused] == ["orang@lain.ac.id", STAFF_CHAT]
    assert "bukan milik Anda" in refused[0].payload["html"]
    assert "DITOLAK" in refused[1].payload["html"]
    assert "refused workflow #1 step to email user orang@lain.ac.id" in caplog.text
    # "Not yet" is an answer for staff, not a mark.
    not_yet = await handle(
        sessions,
        helpdesk,
        email_in(PARTNER, reply_subject, "Belum selesai, ditandatangani besok."),
    )
    assert STAFF_CHAT in [m.chat_id for m in not_yet]
    assert (await _instance(sessions)).step == 7

    quoted = "Selesai. Sudah kami tandatangani.\n\nOn Monday you wrote:\n> Langkah 7/7 ..."
    done = await handle(sessions, helpdesk, email_in(PARTNER, reply_subject, quoted))
    instance = await _instance(sessions)
    assert instance.status == "done" and instance.step == 7
    to_partner = [m for m in done if m.chat_id == PARTNER]
    assert len(to_partner) == 1 and "ditandai selesai" in to_partner[0].payload["html"]
    assert any("selesai" in m.payload["html"] for m in done if m.chat_id == STAFF_CHAT)

    again = await handle(sessions, helpdesk, email_in(PARTNER, reply_subject, "selesai"))
    assert [m.payload["html"] for m in again] == ["Langkah ini sudah selesai sebelumnya."]
    async with sessions() as session:
        events = (
            await session.scalars(
                select(Interaction.outcome).where(Interaction.direction == "event")
            )
        ).all()
        people = (await session.scalars(select(Person).where(Person.email == PARTNER))).all()
    assert events.count("workflow_step_done") == 7
    assert len(people) == 1


async def test_a_holder_known_only_by_address_may_reply(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    # A holder found by Person.email (as an imported roster stores people) has no email
    # identity: their mail arrives as a new person, and their address is what counts.
    helpdesk = make_helpdesk(kb)
    partner = "kerjasama@univy.ac.id"
    async with sessions.begin() as session:
        session.add(Person(display_name="Universitas Y", email=partner, role="mitra"))
    await handle(sessions, helpdesk, staff("alur", f"mulai 6.D.c | Kerja sama | mitra={partner}"))
    async with sessions() as session:
        queued = (await session.scalars(select(OutboxMessage))).all()
    notice = next(m for m in queued if m.chat_id == partner)
    assert notice.payload["subject"].endswith("[alur #1.1]")

    reply = email_in(partner, f"Re: {notice.payload['subject']}", "Selesai")
    done = await handle(sessions, helpdesk, reply)
    assert (await _instance(sessions)).step == 2
    assert any("ditandai selesai" in m.payload["html"] for m in done if m.chat_id == partner)


async def test_a_note_and_a_file_beside_selesai_reach_staff(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    helpdesk = make_helpdesk(kb)
    partner = "kerjasama@univy.ac.id"
    async with sessions.begin() as session:
        session.add(Person(display_name="Universitas Y", email=partner, role="mitra"))
    await handle(sessions, helpdesk, staff("alur", f"mulai 6.D.c | Kerja sama | mitra={partner}"))
    subject = "Re: Kerja sama [alur #1.1]"

    def to_staff(queued: list[OutboxMessage]) -> tuple[str, list[str]]:
        """The note staff got about a SELESAI reply, and the texts of the files with it."""
        group = [m for m in queued if m.chat_id == STAFF_CHAT]
        note = next(m.payload["html"] for m in group if "dengan SELESAI" in m.payload["html"])
        files = [m.payload["html"] for m in group if "file_refs" in m.payload["extra"]]
        return note, files

    # The partner's secretary answers for the officer: refused as a mark, but staff get it
    # whole, told how to mark the step themselves.
    secretary = "sekretariat@univy.ac.id"
    refused = await handle(
        sessions, helpdesk, email_in(secretary, subject, "Selesai. MoU terlampir.", file=b"%PDF")
    )
    assert [m.payload["html"] for m in refused if m.chat_id == secretary] == [
        "Langkah ini bukan milik Anda."
    ]
    note, files = to_staff(refused)
    assert "DITOLAK" in note and "/alur selesai 1" in note and "MoU terlampir." in note
    assert secretary in note and len(files) == 1
    assert (await _instance(sessions)).step == 1

    reply = email_in(partner, subject, "Selesai. MoU terlampir, nomor 7/UNR.", file=b"%PDF-1.7")
    done = await handle(sessions, helpdesk, reply)
    assert (await _instance(sessions)).step == 2
    note, files = to_staff(done)
    assert "langkah ditandai selesai" in note and "MoU terlampir, nomor 7/UNR." in note
    assert partner in note
    assert len(files) == 1 and "sertifikat.pdf" in files[0]

    # A SELESAI with nothing to say but an empty file: staff are told it did not come along.
    empty = email_in(partner, "Re: Kerja sama [alur #1.2]", "Selesai", file=b"")
    await handle(sessions, helpdesk, staff("alur", "selesai 1"))  # staff finish step 2
    queued = await handle(sessions, helpdesk, empty)
    note, files = to_staff(queued)
    assert "Tidak diteruskan" in note and "sertifikat.pdf" in note and files == []

    # Someone answering the finished step later is not reported as having done it.
    late = await handle(
        sessions, helpdesk, email_in("orang@lain.ac.id", subject, "Selesai, ini.", file=b"%PDF")
    )
    note, _ = to_staff(late)
    assert "sudah selesai sebelumnya" in note and "ditandai selesai" not in note


async def test_a_stranger_repeating_selesai_gets_no_more_refusals_than_the_reply_limit(
    sessions: Sessions, kb: KnowledgeBase
) -> None:
    helpdesk = make_helpdesk(kb)
    helpdesk.config = replace(helpdesk.config, email=EmailRules(OUR_ADDRESS, auto_reply_limit=2))
    await handle(sessions, helpdesk, staff("alur", f"mulai 6.D.c | Kerja sama | mitra={PARTNER}"))
    stranger = "orang@lain.ac.id"
    answered = 0
    for number in range(4):
        reply = email_in(stranger, "Re: Kerja sama [alur #1.1]", f"Selesai {number}")
        queued = await handle(sessions, helpdesk, reply)
        answered += sum(m.chat_id == stranger for m in queued)
    assert answered == 2
    assert (await _instance(sessions)).step == 1
