"""`cari_mk` with an LMS: read the course code and the account from the message, then queue
the look-up (the LMS worker answers; see `handlers.lms_find`)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from handlers.lms_texts import say
from handlers.turn import Turn
from storage import conversations, lms_jobs

logger = logging.getLogger(__name__)

TOPIC = "cari_mk"
WAITING = "lms_lookup"

# A course code as UNR writes them: 2-5 letters then 3-4 digits (IF201, TI-2103, mku 101).
COURSE_CODE = re.compile(r"(?<![\w@.])([A-Za-z]{2,5})[ -]?(\d{3,4}[A-Za-z]?)(?![\w/@])")
# Words that look like the start of a code but are not: "NIM 2021", "tahun 2026".
NOT_A_CODE = frozenset(
    {"nim", "nidn", "nip", "kelas", "tahun", "semester", "sem", "angkatan", "no", "nomor"}
    | {"hp", "wa", "kode", "ta", "ruang", "jam", "tgl", "tiket", "id", "ke", "dan"}
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
USERNAME = re.compile(
    r"\buser\s?name(?:\s+(?:saya|aku|ku|sy|adalah|yaitu|nya|lms))*\s*[:=]?\s*([\w.-]{3,60})",
    re.IGNORECASE,
)
NUMBER_ID = re.compile(r"(?<![\w/])(\d{8,15})(?![\w/])")  # a bare NIM or NIDN


@dataclass(frozen=True)
class Account:
    """How to find the person in the LMS."""

    field: str  # email or username
    value: str


def course_code(message: str) -> str | None:
    """The first course code in a message, written as the LMS has it (IF201), or None."""
    for found in COURSE_CODE.finditer(message):
        letters, digits = found.groups()
        if letters.casefold() not in NOT_A_CODE:
            return f"{letters.upper()}{digits.upper()}"
    return None


def account_in(message: str) -> Account | None:
    """An email address, a bare NIM/NIDN, or `username x` in a message, or None."""
    email = EMAIL.search(message)
    if email:
        return Account("email", email[0].lower())
    number = NUMBER_ID.search(message)
    if number:
        return Account("username", number[1])
    named = USERNAME.search(message)
    return Account("username", named[1].lower()) if named else None


async def start(turn: Turn, *, message: str) -> None:
    """The person asked where their course is: look it up, or ask for what is missing."""
    code = course_code(message)
    account = account_in(message)
    if account is None and turn.person.email:
        account = Account("email", turn.person.email.lower())
    await _continue(turn, code=code, account=account, question=message)


async def answer_waiting(turn: Turn, data: dict[str, object]) -> bool:
    """A message after we asked for a code or an account; False when it holds neither."""
    message = turn.inbound.text
    code = course_code(message) or _str(data.get("code"))
    account = account_in(message)
    if account is None and isinstance(data.get("field"), str):
        account = Account(str(data["field"]), str(data.get("value", "")))
    if course_code(message) is None and account_in(message) is None:
        # Something else entirely: drop the question rather than trap the person in it.
        await conversations.finish(turn.session, turn.person.id, turn.inbound.channel)
        return False
    question = f"{data.get('question', '')}\n{message}".strip()
    await _continue(turn, code=code, account=account, question=question)
    return True


async def _continue(
    turn: Turn, *, code: str | None, account: Account | None, question: str
) -> None:
    channel = turn.inbound.channel
    if code is None or account is None:
        data: dict[str, object] = {"question": question[-2000:]}
        if code:
            data["code"] = code
        if account:
            data.update(field=account.field, value=account.value)
        await conversations.start(turn.session, turn.person.id, channel, WAITING, data)
        key = (
            "ask_both"
            if code is None and account is None
            else ("ask_code" if code is None else "ask_account")
        )
        await turn.log_in("lms_asked", topic=TOPIC)
        await turn.reply(say(turn.language, key), topic=TOPIC)
        return

    await conversations.finish(turn.session, turn.person.id, channel)
    await turn.log_in("lms_lookup", topic=TOPIC)
    lms_jobs.add(
        turn.session,
        "lookup",
        {
            "code": code,
            "field": account.field,
            "value": account.value,
            "question": question[-2000:],
            "channel": channel.value,
            "chat_id": turn.inbound.chat_id,
            "language": turn.language,
            "subject": turn.inbound.subject,  # an email answer keeps its thread's subject
        },
        person_id=turn.person.id,
    )
    logger.debug("LMS look-up of %s queued for person %s", code, turn.person.id)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
