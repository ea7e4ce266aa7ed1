"""Account activation (SOP 6.A.a): NIM, a code mailed to the roster address, then linking.

The code is never logged nor written to the report: only its salted hash is stored, the
person's message holding it is recorded as `[kode aktivasi]`, and the report row of the
email says where it went, not what it said. Where no email can leave (no SMTP transport) no
code is made at all: staff take the request as a ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import replace
from datetime import timedelta

from handlers.delivery import to_payload
from handlers.flows import state as flow_state
from handlers.flows.definitions import ACTIVATION, ActivationDetails
from handlers.flows.engine import CANCEL, show_to_staff
from handlers.flows.fields import Invalid, nim
from handlers.flows.questions import first_line
from handlers.flows.state import State
from handlers.flows.texts import plain, text
from handlers.lms_courses import request_activation_check
from handlers.messages import Button, Channel, Outbound
from handlers.texts import text as common_text
from handlers.turn import Turn
from storage import interactions, people, queues, roster, tickets
from storage.models import Identity, RosterEntry
from storage.privacy import SECRET
from storage.types import utcnow

logger = logging.getLogger(__name__)

NIM_STEP = "nim"
CODE_STEP = "code"
RATE_WINDOW = timedelta(hours=1)
REDACTED = "[kode aktivasi]"
TITLE = "Aktivasi akun"


def mask(address: str) -> str:
    """`dewi@example.ac.id` -> `d***@example.ac.id`."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def hash_code(code: str, salt: str) -> str:
    """The stored form of a code."""
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


async def start(turn: Turn) -> None:
    """Ask for the NIM, unless this person is linked already."""
    entry = await roster.of_person(turn.session, turn.person.id)
    if entry is not None:
        await turn.log_in("already_linked", topic=ACTIVATION)
        await turn.reply(
            text(
                turn.language,
                "already_linked",
                role=entry.role,
                name=entry.name,
                number=entry.number,
            ),
            topic=ACTIVATION,
        )
        return
    state = State(flow=ACTIVATION, step=NIM_STEP, chat_id=turn.inbound.chat_id)
    current = flow_state.load(turn)
    if current is not None and current.flow == ACTIVATION:
        state = current
    await flow_state.save(turn, state)
    await turn.log_in("flow_started", topic=ACTIVATION)
    await ask(turn, state)


async def begin(turn: Turn) -> str:
    """By email: wait for the NIM and return the question to put under the answer."""
    if await roster.of_person(turn.session, turn.person.id) is not None:
        return ""
    state = State(flow=ACTIVATION, step=NIM_STEP, chat_id=turn.inbound.chat_id)
    await flow_state.save(turn, state)
    return text(turn.language, "ask_nim")


async def ask(turn: Turn, state: State, *, problem: str = "") -> None:
    """The NIM question, or the reminder to type the code."""
    if state.step == CODE_STEP:
        body = text(turn.language, "bad_code")
        await turn.reply("\n\n".join(p for p in (problem, body) if p), topic=ACTIVATION)
        return
    body = text(turn.language, "ask_nim")
    await turn.reply("\n\n".join(p for p in (problem, body) if p), topic=ACTIVATION)


async def on_text(turn: Turn, state: State) -> bool:
    """The NIM, or the code; anything else typed is answered with what is expected."""
    word = first_line(turn.inbound.text).casefold()
    if word in CANCEL:
        await flow_state.finish(turn)
        await turn.log_in("cancelled", topic=ACTIVATION)
        await turn.reply(common_text(turn.language, "cancelled"), topic=ACTIVATION)
        return True
    if state.step == CODE_STEP:
        await _check_code(turn, state)
    else:
        await _nim(turn, state)
    return True


async def _nim(turn: Turn, state: State) -> None:
    try:
        number = nim(first_line(turn.inbound.text))
    except Invalid as problem:
        await turn.log_in("flow_invalid", topic=ACTIVATION)
        await ask(turn, state, problem="⚠️ " + text(turn.language, problem.key, **problem.values))
        return
    entry = await roster.by_number(turn.session, number)
    if entry is None:
        await _to_staff(turn, "reason_unknown", f"NIM/NIDN {number} tidak ada di daftar aktivasi")
    elif entry.person_id is not None and entry.person_id != turn.person.id:
        await _to_staff(turn, "reason_taken", f"NIM/NIDN {number} sudah terhubung ke akun lain")
    elif not entry.email:
        await _to_staff(turn, "reason_no_email", f"NIM/NIDN {number} tanpa alamat email")
    else:
        await turn.log_in("flow_answer", topic=ACTIVATION)
        await send_code(turn, state, entry)


async def send_code(turn: Turn, state: State, entry: RosterEntry) -> None:
    """Mail a new code to the roster address, within the hourly limits."""
    if not turn.config.sends_email:
        # Without SMTP the code would wait in the outbox for ever, and the student for it:
        # no code is made, and staff activate the account once they know who is asking.
        logger.warning(
            "activation code for roster row %s not sent: no email transport (smtp.host)",
            entry.id,
        )
        # No name in the question: the asker, not yet proven to be the student, sees it
        # in /tiket. Staff find the row by its NIM.
        await _to_staff(
            turn,
            "reason_no_mail",
            f"NIM/NIDN {entry.number}: kode tidak dapat dikirim (email helpdesk belum "
            "disiapkan); identitas penanya belum diperiksa",
        )
        return
    config = turn.config.flows
    window = RATE_WINDOW
    mine, theirs = await roster.codes_since(
        turn.session, person_id=turn.person.id, roster_id=entry.id, window=window
    )
    if max(mine, theirs) >= config.codes_per_hour:
        again = (utcnow() + window).astimezone(turn.config.zone).strftime("%H:%M")
        logger.warning("activation codes rate-limited for person %s", turn.person.id)
        await turn.reply(
            text(turn.language, "rate_limited", count=max(mine, theirs), at=again),
            topic=ACTIVATION,
        )
        return
    assert entry.email is not None
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    await roster.add_code(
        turn.session,
        roster_id=entry.id,
        person_id=turn.person.id,
        code_hash=hash_code(code, salt),
        salt=salt,
        expires_at=utcnow() + config.code_ttl,
    )
    _queue_code_email(turn, entry.email, code)
    state.step, state.roster_id = CODE_STEP, entry.id
    await flow_state.save(turn, state)
    minutes = int(config.code_ttl.total_seconds() // 60)
    await turn.reply(
        text(turn.language, "ask_code", email=mask(entry.email), minutes=minutes),
        topic=ACTIVATION,
    )
    logger.info("activation code mailed for roster row %s", entry.id)


def _queue_code_email(turn: Turn, address: str, code: str) -> None:
    minutes = int(turn.config.flows.code_ttl.total_seconds() // 60)
    outbound = Outbound(
        channel=Channel.EMAIL,
        chat_id=address,
        subject=plain(turn.language, "code_email_subject"),
        html=text(turn.language, "code_email", code=code, minutes=minutes),
        extra={SECRET: "activation_code"},
    )
    # Recorded by hand, not through Turn.send: the report must not hold the code.
    row = interactions.record(
        turn.session,
        channel=Channel.EMAIL,
        direction="out",
        outcome="queued",
        text=plain("id", "code_log").format(email=mask(address)),
        person=turn.person,
        topic=ACTIVATION,
        handled_by="bot",
        handler=None,
    )
    queues.enqueue(turn.session, Channel.EMAIL, address, to_payload(outbound), interaction=row)


async def _check_code(turn: Turn, state: State) -> None:
    typed = "".join(first_line(turn.inbound.text).split())
    turn.inbound = replace(turn.inbound, text=REDACTED)
    config = turn.config.flows
    minutes = int(config.code_ttl.total_seconds() // 60)
    if not (typed.isdigit() and len(typed) == 6):
        await turn.log_in("flow_invalid", topic=ACTIVATION)
        # The warning is the whole answer: it already says what a code looks like.
        await turn.reply("⚠️ " + text(turn.language, "bad_code"), topic=ACTIVATION)
        return
    code = await roster.live_code(turn.session, turn.person.id)
    if code is None or code.roster_id != state.roster_id:
        await turn.log_in("code_missing", topic=ACTIVATION)
        await _offer_resend(turn, state, text(turn.language, "no_code"))
        return
    if code.expires_at <= utcnow():
        code.used_at = utcnow()
        await turn.log_in("code_expired", topic=ACTIVATION)
        await _offer_resend(turn, state, text(turn.language, "code_expired", minutes=minutes))
        return
    if hmac.compare_digest(code.code_hash, hash_code(typed, code.salt)):
        code.used_at = utcnow()
        entry = await roster.get(turn.session, code.roster_id)
        assert entry is not None
        await _link(turn, entry)
        return
    code.attempts += 1
    left = config.code_attempts - code.attempts
    if left > 0:
        await turn.log_in("code_wrong", topic=ACTIVATION)
        await turn.reply(text(turn.language, "wrong_code", left=left), topic=ACTIVATION)
        return
    code.used_at = utcnow()
    await flow_state.finish(turn)
    await turn.log_in("code_locked", topic=ACTIVATION)
    logger.warning("activation code locked after %s wrong tries", code.attempts)
    await turn.reply(text(turn.language, "code_locked", attempts=code.attempts), topic=ACTIVATION)


async def _offer_resend(turn: Turn, state: State, body: str) -> None:
    button = Button(plain(turn.language, "button_resend"), f"f:{state.fid}:r")
    await turn.reply(body, buttons=((button,),), topic=ACTIVATION)


async def resend(turn: Turn, state: State) -> None:
    """A new code for the roster row the person gave before."""
    entry = await roster.get(turn.session, state.roster_id) if state.roster_id else None
    if entry is None or not entry.email:
        state.step = NIM_STEP
        await flow_state.save(turn, state)
        await ask(turn, state)
        return
    await turn.log_in("code_resent", topic=ACTIVATION)
    await send_code(turn, state, entry)


async def _link(turn: Turn, entry: RosterEntry) -> None:
    person = turn.person
    entry.person_id, entry.linked_at = person.id, utcnow()
    person.role = entry.role
    person.email = entry.email
    await _add_email_identity(turn, entry)
    await flow_state.finish(turn)
    logger.info("person %s linked to roster row %s", person.id, entry.id)
    if entry.role == "dosen":
        await turn.log_in("linked", topic=ACTIVATION)
        await turn.reply(
            text(turn.language, "linked_lecturer", name=entry.name, number=entry.number),
            topic=ACTIVATION,
        )
        return
    details = ActivationDetails(
        nim=entry.number,
        name=entry.name,
        email=entry.email or "",
        programme=entry.programme,
        person_id=person.id,
    ).model_dump()
    ticket = await tickets.open_ticket(
        turn.session,
        requester_id=person.id,
        channel=turn.inbound.channel,
        chat_id=turn.inbound.chat_id,
        question=f"{TITLE}: {entry.number} {entry.name} ({entry.programme or '-'})",
        topic=ACTIVATION,
    )
    ticket.kind, ticket.details = "activation", details
    await turn.session.flush()
    # With an LMS, platform staff also get the account's state there (exists, suspended,
    # missing) as a note on this ticket, looked up outside this transaction.
    request_activation_check(turn.session, ticket, turn.config)
    await turn.log_in("activation_requested", topic=ACTIVATION, ticket=ticket)
    await turn.reply(
        text(turn.language, "activated", name=entry.name, number=entry.number, ticket=ticket.id),
        topic=ACTIVATION,
        ticket=ticket,
    )
    await show_to_staff(turn, ticket, TITLE)


async def _add_email_identity(turn: Turn, entry: RosterEntry) -> None:
    # Mail from the roster address then reaches the same person (their tickets, their role).
    if not entry.email:
        return
    known = await people.find_identity(turn.session, Channel.EMAIL, entry.email)
    if known is None:
        turn.session.add(
            Identity(
                person_id=turn.person.id,
                channel=Channel.EMAIL,
                external_id=entry.email,
                display_name=entry.name,
            )
        )


async def _to_staff(turn: Turn, reason: str, question: str) -> None:
    """The roster cannot settle it (unknown NIM, no address, taken): a person will."""
    await flow_state.finish(turn)
    ticket = await tickets.open_ticket(
        turn.session,
        requester_id=turn.person.id,
        channel=turn.inbound.channel,
        chat_id=turn.inbound.chat_id,
        question=f"{TITLE}: {question}",
        topic=ACTIVATION,
    )
    await turn.log_in("escalated", topic=ACTIVATION, ticket=ticket)
    await turn.reply(
        text(
            turn.language,
            "to_staff_activation",
            reason=plain(turn.language, reason),
            number=ticket.id,
        ),
        topic=ACTIVATION,
        ticket=ticket,
    )
    await show_to_staff(turn, ticket, TITLE)
    logger.info("activation for person %s handed to staff: %s", turn.person.id, reason)
