"""What reminders, trainings and workflows say (Bahasa Indonesia first, English)."""

from __future__ import annotations

from handlers.markup import fmt

_ID: dict[str, str] = {
    "aud_internal": "internal UNR",
    "aud_external": "eksternal",
    # workflows
    "wf_step": (
        "📋 <b>{title}</b> ({code} #{number})\n"
        "Langkah {step}/{steps} untuk Anda ({role}):\n{text}\n"
        "Tenggat: {due} WITA."
    ),
    "wf_step_email": (
        "Setelah selesai, balas email ini dengan kata SELESAI di awal balasan: langkah ini "
        "akan ditandai selesai. Balasan lain diteruskan ke staf."
    ),
    "wf_button_done": "✅ Tandai selesai",
    "wf_reminder": (
        "⏰ Pengingat: langkah {step} <b>{title}</b> ({code} #{number}) melewati tenggat "
        "{due} WITA:\n{text}"
    ),
    "wf_escalated": (
        "⚠️ Langkah {step} <b>{title}</b> ({code} #{number}) terlambat sejak {due} WITA.\n"
        "Pemegang peran: {role} ({holder}).\n{text}"
    ),
    "wf_staff_step": (
        "📋 <b>{title}</b> ({code} #{number})\nLangkah {step}/{steps} untuk staf ({role}):\n"
        "{text}\nTenggat: {due} WITA."
    ),
    "wf_started": "Alur {code} #{number} <b>{title}</b> dimulai.",
    "wf_done_ok": "Langkah {step} {code} #{number} ditandai selesai.",
    "wf_reply_note": (
        "📋 {name} ({address}) membalas langkah {step} {code} #{number} dengan SELESAI: "
        "{outcome}.\n{text}"
    ),
    "wf_reply_done": "langkah ditandai selesai",
    "wf_reply_stale": "langkah itu sudah selesai sebelumnya",
    "wf_reply_refused": (
        "DITOLAK, pengirim bukan pemegang langkah ini; bila benar, tandai dengan "
        "/alur selesai {number}"
    ),
    "wf_stale": "Langkah ini sudah selesai sebelumnya.",
    "wf_finished": "✅ Alur {code} #{number} <b>{title}</b> selesai.",
    "wf_not_found": "Alur #{number} tidak ditemukan.",
    "wf_not_yours": "Langkah ini bukan milik Anda.",
    "wf_list_header": "Alur yang berjalan:",
    "wf_list_none": "Tidak ada alur yang berjalan.",
    "wf_line": "#{number} {code} {title}: langkah {step}/{steps} ({role}), tenggat {due}{late}",
    "wf_late": " ⚠️ terlambat",
    "wf_usage": (
        "Perintah alur:\n/alur — daftar alur yang berjalan\n"
        "/alur mulai KODE | judul | peran=pemegang; ...\n"
        "  contoh: /alur mulai 6.C.f | Sertifikat MK Statistika, mitra Univ X | "
        "dosen=dosen@unr.ac.id; mitra=akademik@univx.ac.id; wr1=tg:123456\n"
        "/alur selesai NOMOR — tandai langkah saat ini selesai\n"
        "Kode: {codes}"
    ),
    "wf_bad": "Tidak bisa memulai alur: {problem}",
    # trainings
    "tr_line": (
        "<b>{title}</b> ({audience})\n{start} – {end} WITA\n{place}\nKuota: {taken}/{capacity}"
    ),
    "tr_none": "Belum ada pelatihan yang dijadwalkan.",
    "tr_header": "Pelatihan mendatang:",
    "tr_button_register": "📝 Daftar #{number}",
    "tr_button_cancel": "❌ Batal #{number}",
    "tr_registered": "Anda terdaftar di pelatihan <b>{title}</b> ({start} WITA).",
    "tr_waiting": (
        "Kuota pelatihan <b>{title}</b> penuh; Anda di daftar tunggu nomor {position}. "
        "Kami kabari bila ada tempat."
    ),
    "tr_already": "Anda sudah terdaftar ({status}) di pelatihan <b>{title}</b>.",
    "tr_cancelled": "Pendaftaran Anda di pelatihan <b>{title}</b> dibatalkan.",
    "tr_not_registered": "Anda tidak terdaftar di pelatihan ini.",
    "tr_moved_up": (
        "Ada tempat untuk Anda: Anda kini terdaftar di pelatihan <b>{title}</b> "
        "({start} WITA, {place})."
    ),
    "tr_not_found": "Pelatihan #{number} tidak ditemukan atau sudah lewat.",
    "tr_reminder": "⏰ Pengingat pelatihan <b>{title}</b>: {start} WITA, {place}.",
    "tr_announce": (
        "📣 Pelatihan baru: <b>{title}</b> ({audience})\n{start} – {end} WITA\n{place}\n"
        "Kuota {capacity}. Daftar lewat /pelatihan."
    ),
    "tr_subscribed": (
        "Anda akan menerima pengumuman pelatihan. Kirim /langganan lagi untuk berhenti."
    ),
    "tr_unsubscribed": "Anda tidak lagi menerima pengumuman pelatihan.",
    "tr_request_usage": (
        "Tuliskan permintaan pelatihan setelah perintahnya, misalnya:\n"
        "/pelatihan minta Fakultas Teknik, 25 dosen, Moodle dasar, minggu ke-2 Januari"
    ),
    "tr_schedule_answer": (
        "Jadwal pelatihan untuk permintaan Anda (tiket #{ticket}):\n"
        "<b>{title}</b>\n{start} – {end} WITA\n{place}"
    ),
    "tr_created": "Pelatihan #{number} <b>{title}</b> dibuat ({start} WITA, kuota {capacity}).",
    "tr_add_usage": (
        "Format: /pelatihan_baru judul | internal/eksternal | YYYY-MM-DD HH:MM | "
        "YYYY-MM-DD HH:MM | tempat atau tautan | kuota [| tiket=NOMOR]"
    ),
    "tr_add_bad": "Pelatihan tidak dibuat: {problem}",
    "tr_attendance": "Kehadiran pelatihan #{number} dicatat: {present} hadir dari {total}.",
    "tr_attendance_usage": "Format: /hadir NOMOR_PELATIHAN id1 id2 ... (id peserta dari /peserta)",
    "tr_participants": "Peserta pelatihan #{number} <b>{title}</b>:",
    "tr_participant": "{id}. {name} · {status}{attended}",
}

_EN: dict[str, str] = {
    "aud_internal": "internal, UNR",
    "aud_external": "external",
    **_ID,
    "wf_step": (
        "📋 <b>{title}</b> ({code} #{number})\n"
        "Step {step}/{steps} is yours ({role}):\n{text}\nDue: {due} WITA."
    ),
    "wf_step_email": (
        "When it is done, reply to this email starting with the word DONE (or SELESAI): "
        "the step will be marked done. Any other reply goes to staff."
    ),
    "wf_button_done": "✅ Mark done",
    "wf_reminder": (
        "⏰ Reminder: step {step} of <b>{title}</b> ({code} #{number}) was due {due} WITA:\n{text}"
    ),
    "wf_done_ok": "Step {step} of {code} #{number} marked done.",
    "wf_reply_note": (
        "📋 {name} ({address}) answered step {step} of {code} #{number} with SELESAI: "
        "{outcome}.\n{text}"
    ),
    "wf_reply_done": "step marked done",
    "wf_reply_stale": "that step was done before",
    "wf_reply_refused": (
        "REFUSED, the sender does not hold this step; if right, mark it with "
        "/alur selesai {number}"
    ),
    "wf_stale": "This step was already done.",
    "wf_not_yours": "This step is not yours.",
    "tr_none": "No training is scheduled yet.",
    "tr_header": "Upcoming trainings:",
    "tr_button_register": "📝 Register #{number}",
    "tr_button_cancel": "❌ Cancel #{number}",
    "tr_registered": "You are registered for <b>{title}</b> ({start} WITA).",
    "tr_waiting": (
        "<b>{title}</b> is full; you are number {position} on the waiting list. "
        "We will tell you when a place frees up."
    ),
    "tr_already": "You are already {status} for <b>{title}</b>.",
    "tr_cancelled": "Your registration for <b>{title}</b> is cancelled.",
    "tr_not_registered": "You are not registered for this training.",
    "tr_moved_up": (
        "A place freed up: you are now registered for <b>{title}</b> ({start} WITA, {place})."
    ),
    "tr_not_found": "Training #{number} was not found or is over.",
    "tr_reminder": "⏰ Training reminder <b>{title}</b>: {start} WITA, {place}.",
    "tr_announce": (
        "📣 New training: <b>{title}</b> ({audience})\n{start} – {end} WITA\n{place}\n"
        "{capacity} places. Register with /pelatihan."
    ),
    "tr_subscribed": "You will get training announcements. Send /langganan again to stop.",
    "tr_unsubscribed": "You will no longer get training announcements.",
    "tr_request_usage": (
        "Write the request after the command, for example:\n"
        "/pelatihan minta Faculty of Engineering, 25 lecturers, Moodle basics, mid January"
    ),
    "tr_schedule_answer": (
        "The schedule for your training request (ticket #{ticket}):\n"
        "<b>{title}</b>\n{start} – {end} WITA\n{place}"
    ),
}

_TEXTS = {"id": _ID, "en": _EN}


def say(language: str, key: str, **values: object) -> str:
    """A text with `values` escaped into it; unknown languages get Bahasa Indonesia."""
    return fmt(_TEXTS.get(language, _ID)[key], **values)
