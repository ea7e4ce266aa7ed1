"""Security audit, end to end: staff powers, other people's tickets, escaping, secrets in logs.

POWERS lists every staff power the helpdesk has, each with how a non-staff member of the
staff group would try it: tickets, the flows' "mark done" (t:d:), workflows (/alur and the
w:d: step button), trainings (/pelatihan_baru, /peserta, /hadir) and the LMS buttons (l:c:,
l:e:, l:u:). A new staff power gets a row here: the test then checks that it refuses, logs
who tried, and changes nothing (ticket, workflows, trainings, registrations, LMS jobs).
By email the one staff power is answering a ticket; its row is in tests/e2e/test_email.py
(`test_a_reply_by_email_from_someone_not_staff_reaches_nobody_and_is_logged`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.redact import MASK, RedactingFilter, protect
from helpdesk import logs
from helpdesk.settings import Settings, TelegramSettings, secret_values
from storage.models import Interaction, LmsJob, Registration, Training, WorkflowInstance
from tests.botapi.server import FakeBotApi
from tests.botapi.state import SentMessage
from tests.conftest import shared_path
from tests.e2e.harness import STAFF_GROUP, STAFF_ID, STUDENT_ID, RunningHelpdesk, button

pytestmark = [pytest.mark.e2e, pytest.mark.db]

INTRUDER = 555
OTHER_STUDENT = 222


def forged_press(api: FakeBotApi, user: int, message: SentMessage, data: str) -> dict[str, object]:
    """A callback query with data of the sender's choosing (no such button needs to exist)."""
    chat = api.chats[message.chat_id]
    return {
        "callback_query": {
            "id": str(api.new_id()),
            "from": api.users[user],
            "message": api.messages[(chat["id"], message.message_id)],
            "chat_instance": str(chat["id"]),
            "data": data,
        }
    }


Setup = Callable[[FakeBotApi], Awaitable[object]]


async def _no_setup(api: FakeBotApi) -> None:
    return None


@dataclass(frozen=True)
class Power:
    """One staff power and how an outsider tries it on the ticket card.

    `setup` runs as staff before the attempt (e.g. starts the workflow whose step the
    outsider then tries to mark done); `told` is what the outsider is told.
    """

    name: str
    attempt: Callable[[FakeBotApi, SentMessage], Awaitable[object]]
    setup: Setup = _no_setup
    told: str = "hanya untuk staf"


async def _claim(api: FakeBotApi, card: SentMessage) -> object:
    return await api.press(INTRUDER, card, button(card, "t:c:"), chat=STAFF_GROUP)


async def _close(api: FakeBotApi, card: SentMessage) -> object:
    return await api.press(INTRUDER, card, button(card, "t:x:"), chat=STAFF_GROUP)


async def _reply(api: FakeBotApi, card: SentMessage) -> object:
    return await api.send_text(INTRUDER, "jawaban palsu", chat=STAFF_GROUP, reply_to=card)


async def _list_open(api: FakeBotApi, card: SentMessage) -> object:
    return await api.send_text(INTRUDER, "/tiket@unr_helpdesk_bot", chat=STAFF_GROUP)


async def _forged_close_in_private(api: FakeBotApi, card: SentMessage) -> object:
    # A button's data copied into a press on a message of the intruder's own chat.
    await api.send_text(INTRUDER, "halo")
    [mine] = await api.wait_for_messages(INTRUDER, 1)
    return await api.send_update(forged_press(api, INTRUDER, mine, "t:x:1"))


def _ticket_of(card: SentMessage) -> str:
    return button(card, "t:c:").rsplit(":", 1)[1]


def _forged_on_card(
    data: Callable[[str], str],
) -> Callable[[FakeBotApi, SentMessage], Awaitable[object]]:
    """An outsider's press on the staff group's card with data of their choosing."""

    async def attempt(api: FakeBotApi, card: SentMessage) -> object:
        return await api.send_update(forged_press(api, INTRUDER, card, data(_ticket_of(card))))

    return attempt


def _in_staff_group(command: str) -> Callable[[FakeBotApi, SentMessage], Awaitable[object]]:
    async def attempt(api: FakeBotApi, card: SentMessage) -> object:
        return await api.send_text(INTRUDER, command, chat=STAFF_GROUP)

    return attempt


async def _staff_starts_workflow(api: FakeBotApi) -> None:
    await api.send_text(
        STAFF_ID, "/alur@unr_helpdesk_bot mulai 6.C.f | Sertifikat MK", chat=STAFF_GROUP
    )
    await api.wait_for(lambda: any("dimulai" in m.text for m in api.messages_to(STAFF_GROUP)))


async def _staff_creates_training(api: FakeBotApi) -> None:
    await api.send_text(
        STAFF_ID,
        "/pelatihan_baru@unr_helpdesk_bot Pelatihan LMS | internal | 2030-01-10 09:00 | "
        "2030-01-10 12:00 | Lab 1 | 20",
        chat=STAFF_GROUP,
    )
    await api.wait_for(lambda: any("dibuat" in m.text for m in api.messages_to(STAFF_GROUP)))


async def _workflow_step_done(api: FakeBotApi, card: SentMessage) -> object:
    # Step 1 of workflow #1, pressed by someone who neither is staff nor holds the step.
    return await api.send_update(forged_press(api, INTRUDER, card, "w:d:1:1"))


BOT = "@unr_helpdesk_bot"
POWERS = [
    Power("claim", _claim),
    Power("close", _close),
    Power("reply to the user", _reply),
    Power("list open tickets", _list_open),
    Power("close by forged button data", _forged_close_in_private),
    Power("flows: mark done", _forged_on_card(lambda t: f"t:d:{t}")),
    Power("workflows: list", _in_staff_group(f"/alur{BOT}")),
    Power("workflows: start", _in_staff_group(f"/alur{BOT} mulai 6.C.f | Palsu")),
    Power(
        "workflows: step done by command",
        _in_staff_group(f"/alur{BOT} selesai 1"),
        setup=_staff_starts_workflow,
    ),
    Power(
        "workflows: step done button",
        _workflow_step_done,
        setup=_staff_starts_workflow,
        told="bukan milik Anda",
    ),
    Power(
        "trainings: create",
        _in_staff_group(
            f"/pelatihan_baru{BOT} Palsu | internal | 2030-01-10 09:00 | 2030-01-10 12:00 | X | 9"
        ),
    ),
    Power(
        "trainings: participants",
        _in_staff_group(f"/peserta{BOT} 1"),
        setup=_staff_creates_training,
    ),
    Power(
        "trainings: attendance",
        _in_staff_group(f"/hadir{BOT} 1 1"),
        setup=_staff_creates_training,
    ),
    Power("LMS: create course", _forged_on_card(lambda t: f"l:c:{t}")),
    Power("LMS: enrol", _forged_on_card(lambda t: f"l:e:{t}")),
    Power("LMS: use existing course", _forged_on_card(lambda t: f"l:u:{t}:5")),
]


async def _state(helpdesk: RunningHelpdesk) -> tuple[object, ...]:
    """What a staff power could change besides the ticket: counts and workflow steps."""

    async def load(session: Any) -> tuple[object, ...]:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (WorkflowInstance, Training, Registration, LmsJob)
        ]
        steps = (
            await session.execute(
                select(WorkflowInstance.id, WorkflowInstance.step, WorkflowInstance.status)
            )
        ).all()
        attended = (await session.execute(select(Registration.id, Registration.attended))).all()
        return (*counts, sorted(steps), sorted(attended))

    return tuple(await helpdesk.query(load))


async def _open_ticket(api: FakeBotApi, user: int, question: str) -> SentMessage:
    await api.send_text(user, f"/staf {question}")
    await api.wait_for(lambda: any(question in m.text for m in api.messages_to(STAFF_GROUP)))
    return next(m for m in api.messages_to(STAFF_GROUP) if question in m.text)


@pytest.mark.parametrize("power", POWERS, ids=[p.name for p in POWERS])
async def test_every_staff_power_refuses_non_staff_logs_who_and_changes_nothing(
    api: FakeBotApi, helpdesk: RunningHelpdesk, caplog: pytest.LogCaptureFixture, power: Power
) -> None:
    caplog.set_level(logging.WARNING)
    api.user(INTRUDER, "Bukan Staf")
    card = await _open_ticket(api, STUDENT_ID, "Berapa biaya UKT semester ini?")
    await power.setup(api)
    to_student = len(api.messages_to(STUDENT_ID))
    cards = len(api.messages_to(STAFF_GROUP))
    edits = sum(c.method == "editMessageText" for c in api.calls)
    before = await _state(helpdesk)

    await power.attempt(api, card)

    def refused() -> bool:
        return any(
            "refused" in r.getMessage() and str(INTRUDER) in r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING
        )

    await api.wait_for(refused)
    await api.wait_for(lambda: _told(api, power.told))
    [ticket] = await helpdesk.tickets()
    assert (ticket.status, ticket.assignee_id) == ("open", None)
    assert await _state(helpdesk) == before
    assert len(api.messages_to(STUDENT_ID)) == to_student
    # The group sees at most the polite refusal; no card was edited or added.
    assert sum(c.method == "editMessageText" for c in api.calls) == edits
    assert len(api.messages_to(STAFF_GROUP)) <= cards + 1


def _told(api: FakeBotApi, phrase: str) -> bool:
    answers = [str(c.params.get("text")) for c in api.calls if c.method == "answerCallbackQuery"]
    texts = [m.text for m in api.sent] + answers
    return any(phrase in t for t in texts)


async def test_a_user_sees_only_their_own_tickets_whatever_number_or_button_they_send(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    api.user(OTHER_STUDENT, "Budi")
    await _open_ticket(api, STUDENT_ID, "Rahasia Dewi: NIM 2021001 nilai saya hilang")
    [theirs] = await helpdesk.tickets()

    for attempt in ("/tiket", f"/tiket {theirs.id}", f"tiket #{theirs.id}"):
        await api.send_text(OTHER_STUDENT, attempt)
    await api.wait_for_messages(OTHER_STUDENT, 3)
    # Forged buttons carrying the other person's report row: 'helped' and 'hand over'.
    ref = await helpdesk.query(
        lambda s: s.scalar(
            select(Interaction.ref).where(
                Interaction.person_id == theirs.requester_id, Interaction.direction == "in"
            )
        )
    )
    [last] = api.messages_to(OTHER_STUDENT)[-1:]
    for data in (f"ok:{ref}", f"h:{ref}", f"t:c:{theirs.id}", f"t:x:{theirs.id}"):
        await api.send_update(forged_press(api, OTHER_STUDENT, last, data))
    await api.wait_for(
        lambda: sum(c.method == "answerCallbackQuery" for c in api.calls) >= 4, timeout=15
    )

    seen = [m.text for m in api.messages_to(OTHER_STUDENT)]
    assert not any("Rahasia Dewi" in t or "2021001" in t for t in seen), seen
    tickets = await helpdesk.tickets()
    assert not any(
        "Rahasia" in t.question for t in tickets if t.requester_id != theirs.requester_id
    )
    assert [(t.id, t.status) for t in tickets if t.id == theirs.id] == [(theirs.id, "open")]


C08_PAIRS = [
    ("Printer *urgent* - floor_3 (room 2.1)!", "Customer_A [IT]"),
    ("*️⃣ key on keypad broken", "Customer B"),
    ("Can't login > SSO again... {ref=ABC-12}", "C. Customer ~ ext."),
    ("5 < 6 & <b>not bold", "A&B Ltd"),
]


async def test_c08_user_text_and_names_are_shown_literally_in_the_staff_group(
    api: FakeBotApi, helpdesk: RunningHelpdesk
) -> None:
    assert (
        "Printer *urgent*"
        in shared_path("cases", "telegram", "C08_markdown_inputs.txt").read_text()
    )
    for number, (subject, name) in enumerate(C08_PAIRS):
        user = 300 + number
        api.user(user, name)
        card = await _open_ticket(api, user, subject)
        assert name in card.text, card.raw_text
        assert card.parse_mode == "HTML" and "<b>not bold" not in card.raw_text


@pytest.fixture
def production_logging() -> Iterator[None]:
    """The library log levels `helpdesk run` sets at DEBUG, undone afterwards."""
    names = tuple(logs._QUIET)
    saved = {name: logging.getLogger(name).level for name in names}
    logs.quiet_libraries("DEBUG")
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("production_logging")
async def test_c03_a_shared_phone_number_never_reaches_the_log(
    api: FakeBotApi, helpdesk: RunningHelpdesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    updates = json.loads(shared_path("cases", "telegram", "C03_non_text.json").read_text())
    [contact] = [u for u in updates if "contact" in u.get("message", {})]
    phone = contact["message"]["contact"]["phone_number"]

    await api.send_update(contact)
    await api.wait_for_messages(contact["message"]["from"]["id"], 1)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logging.getLogger("bot").getEffectiveLevel() == logging.DEBUG  # the talkative level
    assert caplog.records  # the run was logged
    assert phone not in logged and phone.lstrip("+") not in logged


def test_settings_secrets_are_blanked_in_every_log_line_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://helpdesk:pg-Pa55word@db.example/helpdesk",
        telegram=TelegramSettings.model_validate(
            {"token": "7012345678:AAFq3xZ-Secret_k9w", "secret_token": "webhook-secret-42"}
        ),
    )
    values = secret_values(settings)
    assert {"pg-Pa55word", "AAFq3xZ-Secret_k9w", "webhook-secret-42"} <= set(values)
    protect(*values)
    protect("493817")  # a one-time code, registered by whoever makes it

    logger = logging.getLogger("tests.security")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="tests.security"):
        logger.info("calling %s/bot%s/getMe", "https://api.telegram.org", values[1])
        logger.warning("code %s sent to %s", "493817", "dewi@unr.example")
        try:
            raise RuntimeError("connect postgresql://helpdesk:pg-Pa55word@db.example failed")
        except RuntimeError:
            logger.exception("database down")
    text = caplog.text
    for secret in ("pg-Pa55word", "AAFq3xZ-Secret_k9w", "493817"):
        assert secret not in text
    assert text.count(MASK) >= 4 and "dewi@unr.example" in text


@pytest.mark.usefixtures("production_logging")
def test_http_client_loggers_are_quiet_even_at_debug() -> None:
    for name in ("httpx", "httpcore"):  # request URLs carry the token
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    for name in ("telegram.ext.ExtBot", "telegram.Bot"):  # whole updates at DEBUG
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO
