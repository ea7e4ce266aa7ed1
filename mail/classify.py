"""Deciding whether an inbound mail is a bounce, an auto reply, bulk, our own or a person's."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mail.addresses import sender_is_daemon
from mail.parsing import ParsedMail

Kind = Literal["bounce", "auto_reply", "bulk", "own", "person"]

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (the )?office"
    r"|balasan otomatis|jawaban otomatis|sedang di luar kantor|abwesenheitsnotiz"
    r"|réponse automatique|respuesta automática)\b",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_NO_REPLY_LOCAL_PARTS = re.compile(
    r"^(mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?)([+-].*)?$"
)
_EMPTY_PATH = re.compile(r"^<\s*>$")


@dataclass(frozen=True)
class Classification:
    """What a mail is, whether the helpdesk may answer it automatically, and why."""

    kind: Kind
    may_auto_reply: bool
    reason: str


def classify(mail: ParsedMail, *, own_addresses: Iterable[str]) -> Classification:
    """Classify `mail`; only a person's mail with a usable sender may get an automatic reply."""
    own = {address.strip().lower() for address in own_addresses}
    if mail.from_address is not None and mail.from_address in own:
        return Classification("own", False, f"sent from our own address {mail.from_address}")

    machine = _bounce(mail) or _auto_reply(mail) or _bulk(mail)
    if machine is not None:
        return machine

    blocker = _reply_blocker(mail)
    if blocker is not None:
        return Classification("person", False, blocker)
    return Classification("person", True, "written by a person")


def _bounce(mail: ParsedMail) -> Classification | None:
    if mail.is_report:
        return Classification("bounce", False, f"delivery report ({mail.content_type})")
    if sender_is_daemon(mail.from_address) and _empty_path(mail.return_path, missing=True):
        return Classification("bounce", False, f"from {mail.from_address} with empty return path")
    return None


def _auto_reply(mail: ParsedMail) -> Classification | None:
    auto_submitted = _first_token(mail.auto_submitted)
    if auto_submitted not in ("", "no"):
        return Classification("auto_reply", False, f"Auto-Submitted: {auto_submitted}")
    if mail.x_autoreply is not None or mail.x_autorespond is not None:
        return Classification("auto_reply", False, "X-Autoreply/X-Autorespond header")
    if _first_token(mail.precedence) == "auto_reply":
        return Classification("auto_reply", False, "Precedence: auto_reply")
    if _AUTO_REPLY_SUBJECT.match(mail.subject):
        return Classification("auto_reply", False, f"auto-reply subject {mail.subject[:60]!r}")
    return None


def _bulk(mail: ParsedMail) -> Classification | None:
    precedence = _first_token(mail.precedence)
    if precedence in _BULK_PRECEDENCE:
        return Classification("bulk", False, f"Precedence: {precedence}")
    if mail.list_id is not None or mail.list_unsubscribe is not None:
        return Classification("bulk", False, "mailing list (List-Id/List-Unsubscribe)")
    return None


def _reply_blocker(mail: ParsedMail) -> str | None:
    """Why a mail that looks written by a person must still not get an automatic reply."""
    if mail.parse_error is not None:
        return f"unparseable message: {mail.parse_error[:80]}"
    if mail.from_address is None:
        return "no usable sender address"
    if _NO_REPLY_LOCAL_PARTS.match(mail.from_address.partition("@")[0]):
        return f"sender {mail.from_address} takes no replies"
    if _empty_path(mail.return_path, missing=False):
        return "empty return path"
    if mail.x_auto_response_suppress is not None:
        # Exchange sets this on mail that must not trigger answers, not only on auto replies.
        return f"X-Auto-Response-Suppress: {mail.x_auto_response_suppress}"
    return None


def _first_token(value: str | None) -> str:
    """Header value without parameters or comments, lowercased ("" when absent)."""
    if value is None:
        return ""
    return value.split(";", 1)[0].split("(", 1)[0].strip().lower()


def _empty_path(return_path: str | None, *, missing: bool) -> bool:
    """Whether the return path is `<>`; `missing` is the answer when there is no header."""
    if return_path is None:
        return missing
    return return_path.strip() == "" or _EMPTY_PATH.match(return_path.strip()) is not None
