"""The sent journal and the sender's use of it: nothing accepted is sent a second time."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.delivery import to_payload
from handlers.journal import SentJournal
from handlers.messages import Channel, Outbound
from handlers.sender import OutboxSender
from storage import queues
from storage.models import OutboxMessage

pytestmark = pytest.mark.db


class Recorder:
    """A channel that keeps what it is given (a stand-in for a real transport)."""

    channel = Channel.CONSOLE

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def deliver(self, outbound: Outbound) -> str | None:
        self.sent.append(outbound.html)
        return str(len(self.sent))


def test_journal_keeps_entries_across_instances_and_skips_garbage(tmp_path: Path) -> None:
    path = tmp_path / "x.sent-journal"
    journal = SentJournal(path)
    journal.record(7, "70")
    journal.record(8, None)
    journal.close()
    with path.open("a") as handle:
        handle.write("not-a-number\tx\n")

    again = SentJournal(path)
    assert again.entries() == {7: "70", 8: None}
    again.clear()
    assert again.entries() == {}
    again.close()


async def _queue(sessions: async_sessionmaker[AsyncSession], *texts: str) -> list[int]:
    async with sessions.begin() as session:
        rows = [
            queues.enqueue(session, "console", "u1",
                           to_payload(Outbound(Channel.CONSOLE, "u1", text)))
            for text in texts
        ]  # fmt: skip
    return [row.id for row in rows]


async def test_messages_in_the_journal_are_marked_sent_not_sent_again(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    first, second = await _queue(sessions, "satu", "dua")
    journal = SentJournal(tmp_path / "j.sent-journal")
    journal.record(first, "41")  # "satu" left just before a crash; the database missed it
    recorder = Recorder()
    sender = OutboxSender(sessions, {Channel.CONSOLE: recorder}, journal=journal)

    sender.load_journal()
    await sender.send_due()

    assert recorder.sent == ["dua"]
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(r.id, r.status, r.sent_ref) for r in rows] == [
        (first, "sent", "41"),
        (second, "sent", "1"),
    ]
    assert journal.entries() == {}
    journal.close()


async def test_each_accepted_send_is_journaled_before_the_database_is_marked(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _queue(sessions, "satu")
    journal = SentJournal(tmp_path / "j.sent-journal")
    seen: list[dict[int, str | None]] = []

    class Watching(Recorder):
        async def deliver(self, outbound: Outbound) -> str | None:
            ref = await super().deliver(outbound)
            seen.append(journal.entries())  # nothing noted yet: the note follows the send
            return ref

    sender = OutboxSender(sessions, {Channel.CONSOLE: Watching()}, journal=journal)
    original = sender._mark_accepted
    noted: list[dict[int, str | None]] = []

    async def spy() -> None:
        noted.append(journal.entries())
        await original()

    sender._mark_accepted = spy  # type: ignore[method-assign]
    await sender.send_due()

    assert seen == [{}]
    assert noted[-1] == {1: "1"}
    journal.close()


def test_a_send_begun_but_never_answered_is_in_doubt(tmp_path: Path) -> None:
    journal = SentJournal(tmp_path / "x.sent-journal")
    journal.begin(1)
    journal.record(1, "10")  # accepted
    journal.begin(2)
    journal.settle(2)  # refused (a 429): not out
    journal.begin(3)  # the process died here
    journal.close()

    again = SentJournal(tmp_path / "x.sent-journal")
    assert again.entries() == {1: "10"}
    assert again.in_doubt() == [3]
    again.close()


async def test_a_message_in_flight_at_a_crash_is_sent_again_and_named(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    [first, _] = await _queue(sessions, "satu", "dua")
    journal = SentJournal(tmp_path / "x.sent-journal")
    journal.begin(first)  # the last sender died with "satu" on the wire
    recorder = Recorder()
    sender = OutboxSender(sessions, {Channel.CONSOLE: recorder}, journal=journal)

    sender.load_journal()
    await sender._note_in_doubt()
    while await sender.send_due():
        pass

    assert recorder.sent == ["satu", "dua"]  # sent again: a loss would be worse
    assert sender.in_doubt == [first]
    assert any(f"outbox message {first} " in r.getMessage() for r in caplog.records)
    async with sessions() as session:
        row = await session.get(OutboxMessage, first)
        assert row is not None and row.status == "sent"
        assert row.last_error is not None and "in flight at a crash" in row.last_error
    assert journal.in_doubt() == []  # cleared with the rest once marked
    journal.close()
