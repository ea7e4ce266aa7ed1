"""What the bot says, in Bahasa Indonesia and English; templates are trusted HTML."""

from __future__ import annotations

from handlers.markup import fmt

_ID: dict[str, str] = {
    "welcome": (
        "Halo {name}! Saya asisten <b>Helpdesk E-learning UNR</b> (SUNARI).\n"
        "Tanyakan apa saja tentang pembelajaran daring: akun dan aktivasi, lupa password, "
        "enrollment dan pembuatan mata kuliah daring, pelatihan, PDITT/SPADA, sertifikat.\n"
        "Perintah: /bantuan daftar topik, /tiket status permintaan Anda, "
        "/staf bicara dengan staf, /batal membatalkan, /pelatihan jadwal pelatihan."
    ),
    "help_intro": "Pilih topik, atau tulis pertanyaan Anda langsung:",
    "answer_footer": "Apakah jawaban ini membantu?",
    "not_sure": (
        "Maaf, saya belum yakin memahami pertanyaan Anda. "
        "Mungkin salah satu topik ini? Atau sambungkan ke staf helpdesk."
    ),
    "out_of_scope": (
        "Maaf, pertanyaan ini di luar layanan Helpdesk E-learning. "
        "Jika perlu, saya bisa meneruskannya ke staf."
    ),
    "helped_thanks": "Terima kasih atas tanggapannya! 🙏",
    "ask_for_staff": "Silakan tuliskan pertanyaan Anda; pesan berikutnya akan diteruskan ke staf.",
    "ticket_created": (
        "Pertanyaan Anda diteruskan ke staf helpdesk sebagai tiket <b>#{number}</b>. "
        "Balasan staf akan dikirim ke sini. Cek status dengan /tiket."
    ),
    "ticket_followup": "Pesan Anda ditambahkan ke tiket <b>#{number}</b> dan diteruskan ke staf.",
    "ticket_pending": (
        "Permintaan Anda sudah diteruskan ke staf sebagai tiket <b>#{number}</b>; "
        "mohon tunggu balasannya. Tulis saja jika ada tambahan."
    ),
    "no_tickets": "Anda belum punya tiket.",
    "tickets_header": "Tiket Anda:",
    "ticket_line": "#{number} · {status} · {created} · {question}",
    "staff_reply": "💬 Balasan staf untuk tiket <b>#{number}</b>:\n{text}",
    "staff_reply_file": "(berkas terlampir)",
    "ticket_claimed_user": "Tiket <b>#{number}</b> sedang ditangani oleh staf.",
    "ticket_closed_user": (
        "Tiket <b>#{number}</b> telah ditutup. Terima kasih! "
        "Jika masih ada yang perlu dibantu, tulis saja pertanyaan baru."
    ),
    "nothing_to_cancel": "Tidak ada yang sedang berjalan untuk dibatalkan.",
    "cancelled": "Dibatalkan. Silakan tulis pertanyaan baru kapan saja.",
    "sticker_hint": "Silakan tulis pertanyaan Anda dalam bentuk teks, ya. 🙂",
    "location_hint": (
        "Helpdesk E-learning tidak memerlukan lokasi. Silakan tulis pertanyaan Anda dalam teks."
    ),
    "contact_received": (
        "Terima kasih. Nomor telepon tidak diperlukan; staf akan membalas lewat chat ini."
    ),
    "file_received": (
        "Berkas Anda diterima. Tuliskan juga pertanyaan Anda agar staf dapat membantu."
    ),
    "file_on_ticket": "Berkas Anda ditambahkan ke tiket <b>#{number}</b>.",
    "chat_id": "ID chat ini: <code>{chat_id}</code>",
    "unknown_command": "Perintah tidak dikenal. Ketik /bantuan untuk daftar topik.",
    "staff_only": "Maaf, tindakan ini hanya untuk staf helpdesk.",
    "ticket_not_found": "Tiket #{number} tidak ditemukan.",
    "error_apology": (
        "Maaf, terjadi kendala saat memproses pesan Anda. Staf kami sudah diberi tahu "
        "dan akan membantu."
    ),
    "too_long": (
        "Pesan Anda terlalu panjang ({length} karakter; paling banyak {limit}). "
        "Mohon persingkat atau kirim per bagian."
    ),
    "button_helped": "👍 Terbantu",
    "button_staff": "🙋 Hubungi staf",
    "button_claim": "✋ Ambil",
    "button_close": "✅ Tutup",
    # Staff-group texts: staff read Indonesian whatever the requester's language.
    "card": (
        "🎫 <b>Tiket #{number}</b> · {status}\n"
        "Dari: {name} ({role}) · kanal {channel}\n"
        "Topik: {topic}\n"
        "Pertanyaan:\n{question}\n"
        "<i>Balas (reply) pesan ini untuk menjawab pengguna.</i>"
    ),
    "card_followup": "➕ Pesan tambahan untuk tiket <b>#{number}</b> dari {name}:\n{text}",
    "card_file": "📎 {name} mengirim berkas ({kind}) untuk tiket <b>#{number}</b>.",
    "card_email_file": "📎 Lampiran email untuk tiket <b>#{number}</b> dari {name}: {file}",
    "file_gone": "⚠️ Lampiran tidak tersedia lagi (dihapus atau tidak terbaca): {names}",
    "files_left_out": (
        "📎 Tidak diteruskan (melebihi batas ukuran, kosong, atau lebih dari 5 berkas): {names}"
    ),
    "claimed_by": "✋ Tiket <b>#{number}</b> diambil oleh {staff}.",
    "closed_by": "✅ Tiket <b>#{number}</b> ditutup oleh {staff}.",
    "reply_sent": "📨 Balasan {staff} untuk tiket <b>#{number}</b> diteruskan ke pengguna.",
    "already_closed": "Tiket #{number} sudah ditutup.",
    "open_tickets_header": "Tiket terbuka:",
    "open_tickets_none": "Tidak ada tiket terbuka. 🎉",
    "staff_line": "#{number} · {status} · {name} · {topic} · {question}",
    "failed_input": (
        "⚠️ Pesan dari {name} ({channel}) gagal diproses setelah {attempts} percobaan: "
        "{error}\nIsi: {text}"
    ),
    "staff_chat_moved": (
        "ℹ️ Grup staf berpindah ke supergrup (id {old} → {new}). Pesan berikutnya dikirim ke "
        "sini; perbarui <code>telegram.staff_chat_id</code> di konfigurasi."
    ),
    "status_open": "menunggu staf",
    "status_claimed": "sedang ditangani",
    "status_closed": "selesai",
}

_EN: dict[str, str] = {
    "welcome": (
        "Hello {name}! I am the assistant of the <b>UNR E-learning Helpdesk</b> (SUNARI).\n"
        "Ask about online learning: accounts and activation, passwords, enrollment and "
        "creating online courses, training, PDITT/SPADA, certificates.\n"
        "Commands: /bantuan topics, /tiket your requests, /staf talk to staff, /batal cancel, "
        "/pelatihan trainings."
    ),
    "help_intro": "Choose a topic, or just type your question:",
    "answer_footer": "Did this answer help?",
    "not_sure": (
        "Sorry, I am not sure I understood. Is it one of these topics? "
        "Or I can pass you to the helpdesk staff."
    ),
    "out_of_scope": (
        "Sorry, this is outside what the E-learning Helpdesk handles. "
        "I can pass it to staff if you like."
    ),
    "helped_thanks": "Thank you for the feedback! 🙏",
    "ask_for_staff": "Please type your question; your next message goes to the staff.",
    "ticket_created": (
        "Your question was passed to the helpdesk staff as ticket <b>#{number}</b>. "
        "Their answer will arrive here. Check its state with /tiket."
    ),
    "ticket_followup": "Your message was added to ticket <b>#{number}</b> and sent to staff.",
    "ticket_pending": (
        "Your request is already with staff as ticket <b>#{number}</b>; please wait for "
        "their answer. Write if you have anything to add."
    ),
    "no_tickets": "You have no tickets yet.",
    "tickets_header": "Your tickets:",
    "ticket_line": "#{number} · {status} · {created} · {question}",
    "staff_reply": "💬 Staff reply on ticket <b>#{number}</b>:\n{text}",
    "staff_reply_file": "(file attached)",
    "ticket_claimed_user": "Ticket <b>#{number}</b> is being handled by staff.",
    "ticket_closed_user": ("Ticket <b>#{number}</b> was closed. Thank you! Write again any time."),
    "nothing_to_cancel": "Nothing is in progress to cancel.",
    "cancelled": "Cancelled. Write a new question any time.",
    "sticker_hint": "Please type your question as text. 🙂",
    "location_hint": "The helpdesk does not need your location. Please type your question.",
    "contact_received": "Thank you. No phone number is needed; staff will answer in this chat.",
    "file_received": "We received your file. Please also type your question so staff can help.",
    "file_on_ticket": "Your file was added to ticket <b>#{number}</b>.",
    "unknown_command": "Unknown command. Type /bantuan for the list of topics.",
    "staff_only": "Sorry, only helpdesk staff may do this.",
    "ticket_not_found": "Ticket #{number} was not found.",
    "error_apology": (
        "Sorry, something went wrong while handling your message. Our staff were told "
        "and will help."
    ),
    "too_long": (
        "Your message is too long ({length} characters; at most {limit}). "
        "Please shorten it or send it in parts."
    ),
    "button_helped": "👍 Helpful",
    "button_staff": "🙋 Talk to staff",
    "status_open": "waiting for staff",
    "status_claimed": "being handled",
    "status_closed": "done",
}


def text(language: str, key: str, /, **values: object) -> str:
    """The message `key` in `language` (falling back to Indonesian), values escaped."""
    template = (_EN if language == "en" else _ID).get(key) or _ID[key]
    return fmt(template, **values)


def plain(language: str, key: str) -> str:
    """A template with no values, such as a button label."""
    return (_EN if language == "en" else _ID).get(key) or _ID[key]
