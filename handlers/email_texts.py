"""What the helpdesk says to staff about email (staff read Indonesian; values escaped)."""

from __future__ import annotations

from handlers.markup import fmt

_ID: dict[str, str] = {
    "bounce_note": (
        "📭 Email untuk tiket <b>#{number}</b> tidak terkirim ke {addresses}. "
        "Alamat ditandai tidak dapat dihubungi; hubungi pengguna lewat saluran lain."
    ),
    "auto_reply_note": "🤖 Balasan otomatis dari {address} untuk tiket <b>#{number}</b>: {text}",
    "quiet_card": (
        "📨 Email dari <b>{name}</b> ({address}) tanpa balasan otomatis ({reason}).\n"
        "Tiket <b>#{number}</b>:\n{text}"
    ),
    "quiet_followup": (
        "📨 Email tambahan dari <b>{name}</b> ({address}) untuk tiket <b>#{number}</b> "
        "(tanpa balasan otomatis: {reason}):\n{text}"
    ),
    "no_sender": (
        "📨 Email tanpa alamat pengirim yang dapat dibaca (Message-ID {message_id}). "
        "Tidak dibalas otomatis; pesan mentah tersimpan.\nSubjek: {subject}\n{text}"
    ),
    "intake_down": (
        "⚠️ Email masuk tidak dapat dibaca sejak beberapa waktu ({detail}). "
        "Email pengguna menunggu di kotak surat; periksa server IMAP."
    ),
    "intake_back": "✅ Email masuk kembali berjalan normal.",
    "undeliverable": (
        "📭 Email ke {address} ditolak server untuk selamanya: {reason}\nIsi: {text}"
    ),
}


def email_text(key: str, **values: object) -> str:
    """One of the staff notices, values escaped."""
    return fmt(_ID[key], **values)
