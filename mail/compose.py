"""Building outgoing email: threading headers, text and HTML alternatives, files."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from handlers.delivery import OUTBOX_REF
from handlers.markup import to_plain
from handlers.messages import Outbound
from mail.htmltext import html_to_text
from mail.texts import mail_text
from storage.types import utcnow

_LINE_BREAKS = re.compile(r"[\r\n\x00-\x1f\x7f]+")
_ADDRESS = re.compile(r"[^@\s<>,;\"()\[\]\\]+@[^@\s<>,;\"()\[\]\\]+\.[^@\s<>,;\"()\[\]\\]+")
_TICKET_TAG = re.compile(r"\[#\d+\]")
_MAX_SUBJECT = 200

_templates = Environment(
    loader=PackageLoader("mail", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


class BadRecipient(ValueError):
    """The outbox names something that is not one email address."""


@dataclass(frozen=True)
class Composed:
    """A message ready for SMTP and the Message-ID it carries (without brackets)."""

    message: EmailMessage
    message_id: str


def one_line(value: str) -> str:
    """Header text: control characters (CR, LF above all) become spaces, so no header
    can be injected through a name or a subject."""
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


def recipient(value: str) -> str:
    """The one address an outbox row names, or BadRecipient."""
    address = value.strip()
    if not _ADDRESS.fullmatch(address) or len(address) > 254:
        raise BadRecipient(f"not an email address: {one_line(address)[:80]!r}")
    return address


def subject_for(outbound: Outbound, *, language: str, threaded: bool) -> str:
    """`Re: <subject> [#N]`: the ticket number makes a reply findable by subject too."""
    subject = one_line(outbound.subject or "")[:_MAX_SUBJECT]
    if outbound.ticket_id is not None and f"[#{outbound.ticket_id}]" not in subject:
        subject = f"{subject} [#{outbound.ticket_id}]".strip()
    if not subject or _TICKET_TAG.fullmatch(subject):
        subject = f"{mail_text(language, 'subject')} {subject}".strip()
    if threaded and not re.match(r"(?i)^(re|aw|balas)\s*:", subject):
        subject = f"Re: {subject}"
    return subject


def compose(
    outbound: Outbound,
    *,
    sender: str,
    sender_name: str,
    references: tuple[str, ...] = (),
    language: str = "id",
) -> Composed:
    """The email for one outbox message; `references` are earlier Message-IDs, oldest first."""
    to = recipient(outbound.chat_id)
    message_id = _message_id(outbound, sender.rpartition("@")[2])
    in_reply_to = outbound.reply_to_ref or (references[-1] if references else None)
    chain = [*references, *([in_reply_to] if in_reply_to else [])]
    chain = list(dict.fromkeys(one_line(ref).strip("<>") for ref in chain if ref))

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = Address(one_line(sender_name), addr_spec=sender)
    message["To"] = to
    message["Subject"] = subject_for(outbound, language=language, threaded=bool(chain))
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    if chain:
        message["In-Reply-To"] = f"<{chain[-1]}>"
        message["References"] = " ".join(f"<{ref}>" for ref in chain[-20:])
    _mark_automatic(message, outbound, threaded=bool(chain))
    _body(message, outbound, language)
    return Composed(message, message_id.strip("<>"))


def _message_id(outbound: Outbound, domain: str) -> str:
    """The same Message-ID each time one outbox row is sent.

    A send the server took just before a crash goes again after the restart (the answer to
    DATA never arrived); with the same Message-ID, mail clients show it once.
    """
    ref = outbound.extra.get(OUTBOX_REF)
    if not ref:
        return make_msgid(domain=domain)
    digest = hashlib.sha256(f"{ref}\n{outbound.chat_id}\n{outbound.html}".encode()).hexdigest()
    return f"<sunari.{ref}.{digest[:16]}@{domain}>"


def _mark_automatic(message: EmailMessage, outbound: Outbound, *, threaded: bool) -> None:
    # RFC 3834: an automatic answer says so, and mail that says so gets no answer back.
    if outbound.extra.get("by_staff"):
        return
    message["Auto-Submitted"] = "auto-replied" if threaded else "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back to us


def _body(message: EmailMessage, outbound: Outbound, language: str) -> None:
    if outbound.email_html is not None:
        html_body = Markup(outbound.email_html)
        text_body = html_to_text(outbound.email_html)
    else:
        # The short form is Telegram's HTML subset, escaped when it was built.
        html_body = Markup(outbound.html.replace("\n", "<br>\n"))
        text_body = to_plain(outbound.html)
    footer = mail_text(language, "footer") if outbound.purpose == "reply" else ""
    values = {
        "language": language,
        "subject": message["Subject"],
        "footer": footer,
        "signature": mail_text(language, "signature"),
    }
    text = _templates.get_template("message.txt.j2").render(body=text_body, **values)
    html = _templates.get_template("message.html.j2").render(body=html_body, **values)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    _files(message, outbound)


def _files(message: EmailMessage, outbound: Outbound) -> None:
    parts = message.get_payload()
    assert isinstance(parts, list)
    html_part = parts[1]
    assert isinstance(html_part, EmailMessage)
    # Inline images first: they belong inside the HTML part, before it is wrapped as mixed.
    for item in sorted(outbound.files, key=lambda f: f.inline_id is None):
        maintype, _, subtype = item.mime_type.partition("/")
        name = one_line(item.name).replace("/", "_").replace("\\", "_") or "lampiran"
        if item.inline_id:
            html_part.add_related(
                item.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                cid=f"<{one_line(item.inline_id).strip('<>')}>",
                filename=name,
                disposition="inline",
            )
        else:
            message.add_attachment(
                item.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=name,
            )
