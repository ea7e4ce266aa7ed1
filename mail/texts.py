"""What the email channel adds to a message, in Bahasa Indonesia and English."""

from __future__ import annotations

_TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "footer": (
            "Balas email ini jika masih perlu bantuan; balasan Anda diteruskan ke staf helpdesk."
        ),
        "signature": "Helpdesk E-learning, UPT E-learning Universitas Ngurah Rai",
        "subject": "Helpdesk E-learning UNR",
    },
    "en": {
        "footer": "Reply to this email if you still need help; staff will follow up.",
        "signature": "E-learning Helpdesk, UPT E-learning, Universitas Ngurah Rai",
        "subject": "UNR E-learning Helpdesk",
    },
}


def mail_text(language: str, key: str) -> str:
    """One of the channel's phrases (Indonesian when the language is unknown)."""
    return _TEXTS.get(language, _TEXTS["id"])[key]
