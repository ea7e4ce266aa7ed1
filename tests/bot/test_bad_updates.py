"""Arbitrary update shapes (hypothesis) through the decoder and the whole intake path.

No input may raise out of the processor or stay pending: each is handled, or set aside as
failed with its reason and a notice queued for staff. The number of generated inputs is
printed (run with -s); HELPDESK_TEST_HYPOTHESIS_EXAMPLES raises it for a longer run.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.decode import decode_update
from bot.intake import store_updates
from handlers.config import HelpdeskConfig
from handlers.intake import InboundProcessor, UnreadableInput
from handlers.knowledge import KnowledgeBase
from handlers.matching import Matcher
from handlers.messages import Inbound
from handlers.service import Helpdesk
from storage.database import create_engine, session_factory
from storage.models import InboundUpdate, Interaction, OutboxMessage, Ticket

EXAMPLES = int(os.environ.get("HELPDESK_TEST_HYPOTHESIS_EXAMPLES", "150"))
STAFF_CHAT = "-100500"
BOT = "unr_helpdesk_bot"
KEYS = [
    "update_id",
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "channel_post",
    "from",
    "chat",
    "id",
    "type",
    "text",
    "caption",
    "entities",
    "caption_entities",
    "photo",
    "document",
    "sticker",
    "voice",
    "file_id",
    "file_size",
    "file_name",
    "mime_type",
    "width",
    "height",
    "reply_to_message",
    "message_id",
    "data",
    "offset",
    "length",
    "is_bot",
    "username",
    "first_name",
    "last_name",
    "language_code",
    "new_chat_member",
    "status",
    "contact",
    "location",
    "date",
]
WORDS = (
    "private", "group", "supergroup", "bot_command", "kicked", "member", "/start",
    "/tiket", f"/staf@{BOT}", "/id@OtherBot", "t:c:1", "t:x:99999999999999999999", "k:",
    "h:zz", "ok:", "\x00", "\ud800", "💬" * 3, "<b>", "&amp;", "9" * 400,
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(WORDS),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=25,
)
# Shaped like a real message, every field possibly wrong: reaches deeper than pure noise.
messages = st.fixed_dictionaries(
    {"message_id": values, "date": values, "chat": values, "from": values},
    optional={
        "text": values, "caption": values, "entities": values, "photo": values,
        "document": values, "reply_to_message": values, "contact": values,
    },
)  # fmt: skip
people = st.fixed_dictionaries(
    {"id": st.integers(1, 10**12) | values, "is_bot": st.booleans()},
    optional={"first_name": values, "language_code": values},
)
private_chats = st.fixed_dictionaries(
    {"id": st.integers(1, 10**12), "type": st.sampled_from(["private", "group"])}
)
plausible = st.fixed_dictionaries(
    {"message_id": st.integers(1, 10**6), "date": st.integers(0, 2**31), "chat": private_chats,
     "from": people},
    optional={"text": st.text(max_size=200) | st.sampled_from(WORDS), "entities": values,
              "caption": st.text(max_size=50), "photo": values, "document": values},
)  # fmt: skip
updates = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    st.builds(lambda kind, body: {kind: body}, st.sampled_from(KEYS[:5]), values | messages),
    st.builds(lambda m: {"message": m}, plausible),
    st.builds(lambda q: {"callback_query": q}, values),
)
Json = dict[str, Any]
tried = {"decoder": 0, "intake": 0, "batches": 0}  # generated inputs, for the report
ids = itertools.count(1)


def decode(payload: dict[str, Any]) -> Inbound | None:
    return decode_update(payload, bot_username=BOT)


@given(updates)
@settings(max_examples=EXAMPLES * 4, deadline=None)
def test_decoder_returns_or_refuses_readably(update: dict[str, Any]) -> None:
    tried["decoder"] += 1
    with contextlib.suppress(UnreadableInput):  # set aside at once, with this reason
        decode({"update_id": 1, **update})


def _message(*, sender_id: object = 5, first_name: object = "Dewi", **fields: object) -> Json:
    sender = {"id": sender_id, "is_bot": False, "first_name": first_name}
    chat = {"id": 5, "type": "private"}
    return {"message": {"message_id": 1, "date": 0, "chat": chat, "from": sender, **fields}}


@pytest.fixture(scope="module")
def helpdesk() -> Helpdesk:
    kb = KnowledgeBase.load()
    config = HelpdeskConfig(
        staff_ids={"telegram": frozenset({"900"})}, staff_chat=("telegram", STAFF_CHAT)
    )
    return Helpdesk(config, kb, Matcher(kb))


async def _through_the_intake(url: str, helpdesk: Helpdesk, batch: list[dict[str, Any]]) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        numbered = [{**update, "update_id": next(ids)} for update in batch]
        await store_updates(sessions, numbered)
        processor = InboundProcessor(sessions, helpdesk, {"telegram": decode}, max_attempts=3)
        for _ in range(4):  # enough rounds for a failing update to use up its attempts
            await processor.process_pending()

        async with sessions() as session:
            keys = [str(u["update_id"]) for u in numbered]
            rows = (
                await session.scalars(
                    select(InboundUpdate).where(InboundUpdate.external_id.in_(keys))
                )
            ).all()
            failed = int(
                await session.scalar(select(func.count()).where(InboundUpdate.status == "failed"))
                or 0
            )
            notices = int(
                await session.scalar(
                    select(func.count()).where(
                        OutboxMessage.chat_id == STAFF_CHAT,
                        OutboxMessage.payload["html"].as_string().contains("gagal diproses"),
                    )
                )
                or 0
            )
    finally:
        await engine.dispose()
    assert len(rows) == len(batch)
    for row in rows:
        assert row.status in ("done", "failed"), (row.status, row.error, row.payload)
        if row.status == "failed":
            assert row.error, row.payload
    assert notices == failed  # every input set aside was shown to staff


@pytest.mark.db
def test_arbitrary_updates_are_handled_or_set_aside_and_shown_to_staff(
    database_url: str, helpdesk: Helpdesk
) -> None:
    @given(st.lists(updates, min_size=1, max_size=4))
    @example([_message(text="a\ud800\x00b", first_name="\ud800\x00")])
    @example(
        [_message(text="/start x", entities=[{"type": "bot_command", "offset": 0, "length": "x"}])]
    )
    @example(
        [_message(photo=[{"file_id": "a", "width": "w", "height": None, "file_size": "big"}])]
    )
    @example([_message(sender_id="9" * 400, text="halo")])
    @example(
        [_message(document={"file_id": "d", "file_size": 20 * 1024 * 1024, "file_name": "a.pdf"})]
    )
    @example([_message(text="x" * 100_000)])
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(batch: list[dict[str, Any]]) -> None:
        tried["intake"] += len(batch)
        tried["batches"] += 1
        asyncio.run(_through_the_intake(database_url, helpdesk, batch))

    check()
    print(
        f"generated inputs: {tried['intake']} updates in {tried['batches']} batches through "
        f"the intake; {tried['decoder']} through the decoder alone (this session)"
    )


ODD_BUT_REAL = {
    "nul and lone surrogate": _message(text="a\ud800\x00b", first_name="\ud800\x00"),
    "command length not a number": _message(
        text="/start x", entities=[{"type": "bot_command", "offset": 0, "length": "x"}]
    ),
    "photo sizes not numbers": _message(
        photo=[{"file_id": "a", "width": "w", "height": None, "file_size": "big"}]
    ),
    "20 MB document": _message(
        document={"file_id": "d", "file_size": 20 * 1024 * 1024, "file_name": "a.pdf"}
    ),
    "100,000 characters": _message(text="x" * 100_000),
}


@pytest.mark.db
@pytest.mark.parametrize("update", ODD_BUT_REAL.values(), ids=ODD_BUT_REAL.keys())
async def test_odd_but_real_messages_are_answered_not_set_aside(
    database_url: str, helpdesk: Helpdesk, update: Json
) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        await store_updates(sessions, [{**update, "update_id": 1}])
        processor = InboundProcessor(sessions, helpdesk, {"telegram": decode})
        await processor.process_pending()
        async with sessions() as session:
            row = await session.scalar(select(InboundUpdate))
            replies = (
                await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == "5"))
            ).all()
            texts = (
                await session.scalars(
                    select(Interaction.text).where(Interaction.direction == "in")
                )
            ).all()
    finally:
        await engine.dispose()
    assert row is not None and row.status == "done", row and row.error
    assert len(replies) == 1
    assert all(len(text) <= 600 for text in texts)  # a refused text is recorded, bounded


@pytest.mark.db
async def test_oversized_input_is_refused_with_a_clear_message(
    database_url: str, helpdesk: Helpdesk
) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        await store_updates(sessions, [
            {**ODD_BUT_REAL["20 MB document"], "update_id": 1},
            {**ODD_BUT_REAL["100,000 characters"], "update_id": 2},
        ])  # fmt: skip
        await InboundProcessor(sessions, helpdesk, {"telegram": decode}).process_pending()
        async with sessions() as session:
            replies = (
                await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            ).all()
            rows = (
                await session.scalars(
                    select(Interaction)
                    .where(Interaction.direction == "in")
                    .order_by(Interaction.id)
                )
            ).all()
            tickets = await session.scalar(select(func.count()).select_from(Ticket))
    finally:
        await engine.dispose()
    assert [r.payload["html"][:41] for r in replies] == [
        "Maaf, berkas Anda (20.0 MB) terlalu besar",
        "Pesan Anda terlalu panjang (100000 karakt",
    ]
    assert [r.outcome for r in rows] == ["too_big", "too_long"]
    assert rows[0].attachments == {
        "files": [
            {
                "kind": "document",
                "ref": "d",
                "name": "a.pdf",
                "mime_type": None,
                "size": 20 * 1024 * 1024,
            }
        ]
    }
    assert rows[1].text.startswith("x" * 500) and rows[1].text.endswith("[100000 karakter]")
    assert tickets == 0  # nothing was taken in: no ticket, no download
