"""What the guided flows say, in Bahasa Indonesia and English; templates are trusted HTML."""

from __future__ import annotations

from handlers.markup import fmt

_ID: dict[str, str] = {
    # Asking and moving.
    "question": "<b>({number}/{total})</b> {prompt}",
    "current_value": "Jawaban sekarang: <i>{value}</i>",
    "choices_hint": "Pilih dengan tombol atau ketik nomornya:",
    "text_hint": "Ketik <i>kembali</i> untuk pertanyaan sebelumnya, /batal untuk membatalkan.",
    "at_first": "Ini pertanyaan pertama.",
    "summary": "Periksa kembali permintaan Anda (<b>{title}</b>):",
    "summary_hint": (
        "Tekan <b>Kirim</b> (atau ketik <i>ya</i>) untuk mengirim, <b>Ubah</b> (atau ketik "
        "<i>ubah</i>) untuk mengganti jawaban, /batal untuk membatalkan."
    ),
    "edit_which": "Jawaban mana yang ingin diubah? Tekan tombolnya atau ketik nomornya:",
    "confirm_expected": "Ketik <i>ya</i> untuk mengirim, <i>ubah</i> untuk mengganti jawaban.",
    "submitted": (
        "Terima kasih! Permintaan <b>{title}</b> dikirim ke staf sebagai tiket "
        "<b>#{number}</b>. Kami kabari di sini bila sudah selesai. Cek status dengan /tiket."
    ),
    "replaced": "Formulir <b>{title}</b> yang belum selesai dibatalkan.",
    "stale_button": "Tombol ini sudah tidak berlaku.",
    "lecturers_only": (
        "Formulir ini untuk dosen. Akun Anda terhubung sebagai mahasiswa; "
        "jika ini keliru, hubungi staf dengan /staf."
    ),
    "offer": "Isi permintaan sekarang",
    "offer_activation": "Aktivasi akun sekarang",
    "menu": "Formulir layanan:",
    "reminder": (
        "⏰ Permintaan <b>{title}</b> Anda belum selesai. Lanjutkan dengan menjawab "
        "pertanyaan terakhir, atau ketik /batal bila tidak jadi."
    ),
    "expired": (
        "Formulir <b>{title}</b> yang belum selesai sudah kedaluwarsa dan dihapus. "
        "Mulai lagi kapan saja lewat /bantuan."
    ),
    "button_back": "⬅️ Kembali",
    "button_cancel": "✖️ Batal",
    "button_submit": "✅ Kirim",
    "button_edit": "✏️ Ubah",
    "button_go": "📝 Masih perlu bantuan: isi permintaan",
    "button_enough": "👍 Sudah cukup",
    "button_resend": "🔁 Kirim kode baru",
    "enough": "Baik. Jika masih ada kendala, tulis saja di sini.",
    # Enrollment: SOP 6.A.b steps 1 to 3.
    "enrollment_intro": (
        "Membuka <b>enrollment</b> mata kuliah daring di LMS bisa Anda lakukan sendiri:\n"
        "1. Masuk ke LMS sebagai dosen dan buka mata kuliah Anda.\n"
        "2. <b>Enrolment mandiri</b>: aktifkan metode enrolment mandiri (self enrolment) dan "
        "isi <i>enrolment key</i>; bagikan kunci itu kepada mahasiswa kelas Anda.\n"
        "3. <b>Enrolment manual</b>: pada daftar peserta, tambahkan mahasiswa satu per satu "
        "dan beri peran mahasiswa.\n"
        "Jika masih ada kendala, saya catat permintaan Anda untuk staf helpdesk."
    ),
    "course_creation_intro": (
        "Saya akan menanyakan data yang diperlukan staf pengembangan platform untuk membuat "
        "mata kuliah daring Anda. Ketik <i>kembali</i> untuk mengubah jawaban sebelumnya, "
        "/batal untuk membatalkan."
    ),
    # Field prompts.
    "ask_faculty": "Fakultas?",
    "ask_programme": "Program studi?",
    "ask_course_code": "Kode mata kuliah? (mis. TIF2101)",
    "ask_course_name": "Nama mata kuliah?",
    "ask_credits": "Berapa SKS? (1–6)",
    "ask_semester": "Semester?",
    "ask_academic_year": "Tahun akademik? (mis. 2026/2027)",
    "ask_classes": "Kelas apa saja? Pisahkan dengan koma (mis. A, B, C)",
    "ask_class": "Kelas? (mis. A)",
    "ask_students_count": "Perkiraan jumlah mahasiswa? (1–1000)",
    "ask_nidn": "NIDN Anda? (10 angka)",
    "ask_email": "Alamat email Anda?",
    "ask_problem": "Apa kendalanya? Ceritakan singkat apa yang sudah dicoba dan apa yang terjadi.",
    "ask_student_list": (
        "NIM atau email mahasiswa yang perlu dimasukkan, dipisah koma. "
        "Ketik <i>-</i> bila tidak ada."
    ),
    # Validation messages: what is wrong, then what is expected.
    "bad_empty": "Jawaban masih kosong. {expected}",
    "bad_length": (
        "Jawaban terlalu {which} ({length} karakter). Tulis {low} sampai {high} karakter."
    ),
    "short": "pendek",
    "long": "panjang",
    "bad_letters": "Jawaban perlu mengandung huruf, bukan hanya angka atau tanda baca.",
    "bad_choice": "«{value}» bukan salah satu pilihan. Pilih nomor 1 sampai {count}: {options}.",
    "bad_course_code": (
        "Kode mata kuliah «{value}» tidak sesuai. Tulis 3–15 huruf dan angka (boleh titik "
        "atau strip), memuat huruf dan angka, mis. TIF2101."
    ),
    "bad_credits": "SKS harus bilangan bulat 1 sampai 6, mis. 3 (bukan «{value}»).",
    "bad_students_count": (
        "Jumlah mahasiswa harus bilangan bulat 1 sampai 1000, mis. 40 (bukan «{value}»)."
    ),
    "bad_year_format": (
        "Tahun akademik «{value}» tidak sesuai. Tulis dua tahun berurutan dengan garis miring, "
        "mis. 2026/2027."
    ),
    "bad_year_order": (
        "Tahun akademik «{value}» tidak berurutan: tahun kedua harus tahun pertama + 1, "
        "mis. {first}/{next}."
    ),
    "bad_year_range": "Tahun akademik harus antara 2000/2001 dan 2098/2099 (bukan «{value}»).",
    "bad_classes": (
        "Nama kelas «{value}» tidak sesuai. Setiap kelas 1–10 huruf atau angka, dipisah koma, "
        "paling banyak 20 kelas, mis. A, B, C."
    ),
    "bad_class": "Nama kelas «{value}» tidak sesuai. Tulis 1–10 huruf atau angka, mis. A.",
    "bad_nidn": "NIDN harus tepat 10 angka; yang Anda tulis berisi {count} angka.",
    "bad_nidn_chars": "NIDN hanya berisi angka (10 angka), tanpa huruf.",
    "bad_email": "«{value}» bukan alamat email yang lengkap. Tulis seperti nama@unr.ac.id.",
    "bad_student_item": (
        "«{value}» bukan NIM (5–20 huruf/angka, memuat angka) atau alamat email. "
        "Pisahkan dengan koma, atau ketik - bila tidak ada."
    ),
    "bad_student_many": "Paling banyak 200 mahasiswa per permintaan; Anda menulis {count}.",
    "bad_nim": (
        "NIM «{value}» tidak sesuai. Tulis 5–20 huruf atau angka tanpa spasi, mis. 2021010001."
    ),
    "expected_text": "Silakan ketik jawaban Anda.",
    "bad_role": "peran «{value}» bukan mahasiswa atau dosen.",
    "bad_name": "nama «{value}» harus 2 sampai 200 karakter.",
    # Email form.
    "form_intro": (
        "Untuk mengajukan <b>{title}</b> lewat email, balas email ini dengan mengisi formulir di "
        "bawah (satu baris <i>Nama isian: nilai</i> per isian). {choices}"
    ),
    "form_choices": "Pilihan {label}: {options}.",
    "form_errors": "Beberapa isian perlu diperbaiki:",
    "form_missing": "Isian yang belum diisi (balas dengan melengkapinya):",
    "form_confirm": (
        "Balas dengan <i>YA</i> untuk mengirim permintaan ini, atau kirim baris "
        "<i>Nama isian: nilai baru</i> untuk mengubahnya."
    ),
    # Activation: SOP 6.A.a.
    "ask_nim": "Untuk aktivasi akun, ketik NIM Anda (NIDN bagi dosen).",
    "ask_code": (
        "Kode 6 angka sudah dikirim ke <b>{email}</b> dan berlaku {minutes} menit. "
        "Ketik kodenya di sini."
    ),
    "code_email_subject": "Kode aktivasi akun SUNARI",
    "code_email": (
        "Kode aktivasi akun SUNARI Anda: <b>{code}</b>\n"
        "Kode berlaku {minutes} menit. Jangan berikan kode ini kepada siapa pun, "
        "termasuk staf helpdesk.\n"
        "Jika Anda tidak meminta kode ini, abaikan email ini."
    ),
    "bad_code": "Kode berisi 6 angka, mis. 123456. Ketik kode dari email Anda.",
    "wrong_code": "Kode salah. Sisa percobaan: {left}.",
    "code_locked": (
        "Kode salah {attempts} kali, jadi kode ini dibatalkan. Minta kode baru dengan "
        "/aktivasi nanti, atau hubungi staf dengan /staf."
    ),
    "code_expired": "Kode sudah kedaluwarsa (berlaku {minutes} menit). Minta kode baru?",
    "no_code": "Belum ada kode yang aktif. Minta kode baru?",
    "rate_limited": (
        "Sudah {count} kode diminta dalam satu jam terakhir. Demi keamanan, coba lagi "
        "sekitar pukul {at}, atau hubungi staf dengan /staf."
    ),
    "already_linked": (
        "Akun Anda sudah terhubung dengan {role} <b>{name}</b> ({number}). "
        "Ada kendala lain? Tulis saja di sini."
    ),
    "activated": (
        "Berhasil! Akun Anda terhubung dengan <b>{name}</b> ({number}). Permintaan aktivasi "
        "dicatat sebagai tiket <b>#{ticket}</b>; staf pengembangan platform akan "
        "menyiapkan akun LMS Anda dan mengabari di sini."
    ),
    "linked_lecturer": (
        "Berhasil! Akun Anda terhubung dengan dosen <b>{name}</b> ({number}). NIDN dan email "
        "Anda tidak perlu diketik lagi di formulir."
    ),
    "nim_unknown_question": "Aktivasi akun: NIM/NIDN {number} tidak ada di daftar aktivasi.",
    "no_email_question": "Aktivasi akun: NIM/NIDN {number} ({name}) tidak punya alamat email.",
    "taken_question": "Aktivasi akun: NIM/NIDN {number} sudah terhubung dengan akun lain.",
    "to_staff_activation": (
        "{reason} Saya teruskan ke staf sebagai tiket <b>#{number}</b>; mereka akan membantu "
        "di sini."
    ),
    "reason_unknown": "NIM/NIDN ini tidak ada di daftar aktivasi.",
    "reason_no_email": "Di daftar aktivasi belum ada alamat email untuk NIM/NIDN ini.",
    "reason_taken": "NIM/NIDN ini sudah terhubung dengan akun lain.",
    "reason_no_mail": "Kode aktivasi tidak dapat dikirim lewat email saat ini.",
    "code_log": "[kode aktivasi dikirim ke {email}]",
    # Staff "done" (SOP 6.A.b step 6) and the requester's notice.
    "button_done": "✅ Selesai",
    "done_by": "✅ Tiket <b>#{number}</b> ditandai selesai oleh {staff}.",
    "done_course_creation": (
        "✅ Mata kuliah <b>{course_code} {course_name}</b> sudah dibuat (tiket #{number}) "
        "dan dapat Anda temukan di LMS{where}."
    ),
    "done_enrollment": (
        "✅ Permintaan enrollment mata kuliah <b>{course_code}</b> kelas {klass} sudah "
        "ditangani staf (tiket #{number}). Silakan periksa di LMS{where}."
    ),
    "done_activation": (
        "✅ Akun LMS Anda (NIM {nim}) sudah disiapkan (tiket #{number}). Silakan login{where}."
    ),
    "done_other": "✅ Permintaan Anda (tiket #{number}) sudah selesai ditangani staf.",
    "where_url": " di {url}",
    "details_header": "Data permintaan:",
}

_EN: dict[str, str] = {
    "question": "<b>({number}/{total})</b> {prompt}",
    "current_value": "Current answer: <i>{value}</i>",
    "choices_hint": "Choose with a button or type its number:",
    "text_hint": "Type <i>back</i> for the previous question, /batal to cancel.",
    "at_first": "This is the first question.",
    "summary": "Please check your request (<b>{title}</b>):",
    "summary_hint": (
        "Press <b>Send</b> (or type <i>yes</i>) to send it, <b>Change</b> (or type "
        "<i>change</i>) to change an answer, /batal to cancel."
    ),
    "edit_which": "Which answer do you want to change? Press its button or type its number:",
    "confirm_expected": "Type <i>yes</i> to send, <i>change</i> to change an answer.",
    "submitted": (
        "Thank you! Your <b>{title}</b> request went to staff as ticket <b>#{number}</b>. "
        "We will tell you here when it is done. Check it with /tiket."
    ),
    "replaced": "The unfinished <b>{title}</b> form was cancelled.",
    "stale_button": "This button no longer applies.",
    "lecturers_only": (
        "This form is for lecturers. Your account is linked as a student; if that is wrong, "
        "ask staff with /staf."
    ),
    "offer": "Fill in a request now",
    "offer_activation": "Activate my account now",
    "menu": "Request forms:",
    "reminder": (
        "⏰ Your <b>{title}</b> request is not finished. Continue by answering the last "
        "question, or type /batal if you no longer need it."
    ),
    "expired": (
        "The unfinished <b>{title}</b> form expired and was removed. Start again any time "
        "from /bantuan."
    ),
    "button_back": "⬅️ Back",
    "button_cancel": "✖️ Cancel",
    "button_submit": "✅ Send",
    "button_edit": "✏️ Change",
    "button_go": "📝 I still need help: fill in a request",
    "button_enough": "👍 That is enough",
    "button_resend": "🔁 Send a new code",
    "enough": "Fine. If anything still goes wrong, just write here.",
    "enrollment_intro": (
        "You can open <b>enrollment</b> of your online course in the LMS yourself:\n"
        "1. Log in to the LMS as a lecturer and open your course.\n"
        "2. <b>Self enrolment</b>: enable the self-enrolment method and set an "
        "<i>enrolment key</i>; give that key to the students of your class.\n"
        "3. <b>Manual enrolment</b>: in the participants list, add students one by one with "
        "the student role.\n"
        "If it still does not work, I will record your request for the helpdesk staff."
    ),
    "course_creation_intro": (
        "I will ask what the platform staff need to create your online course. Type "
        "<i>back</i> to change the previous answer, /batal to cancel."
    ),
    "ask_faculty": "Faculty?",
    "ask_programme": "Study programme?",
    "ask_course_code": "Course code? (e.g. TIF2101)",
    "ask_course_name": "Course name?",
    "ask_credits": "Credits (SKS)? (1–6)",
    "ask_semester": "Semester?",
    "ask_academic_year": "Academic year? (e.g. 2026/2027)",
    "ask_classes": "Which classes? Separate them with commas (e.g. A, B, C)",
    "ask_class": "Class? (e.g. A)",
    "ask_students_count": "Expected number of students? (1–1000)",
    "ask_nidn": "Your NIDN? (10 digits)",
    "ask_email": "Your email address?",
    "ask_problem": "What went wrong? Briefly say what you tried and what happened.",
    "ask_student_list": (
        "NIM or email of the students to add, separated by commas. Type <i>-</i> if none."
    ),
    "bad_empty": "The answer is empty. {expected}",
    "bad_length": "The answer is too {which} ({length} characters). Write {low} to {high}.",
    "short": "short",
    "long": "long",
    "bad_letters": "The answer needs letters, not only digits or punctuation.",
    "bad_choice": "«{value}» is not one of the choices. Choose a number 1 to {count}: {options}.",
    "bad_course_code": (
        "Course code «{value}» does not fit. Write 3–15 letters and digits (dots or dashes "
        "allowed) with both letters and digits, e.g. TIF2101."
    ),
    "bad_credits": "Credits must be a whole number from 1 to 6, e.g. 3 (not «{value}»).",
    "bad_students_count": (
        "The number of students must be a whole number from 1 to 1000, e.g. 40 (not «{value}»)."
    ),
    "bad_year_format": (
        "Academic year «{value}» does not fit. Write two consecutive years with a slash, "
        "e.g. 2026/2027."
    ),
    "bad_year_order": (
        "Academic year «{value}» is not consecutive: the second year must be the first + 1, "
        "e.g. {first}/{next}."
    ),
    "bad_year_range": "The academic year must be from 2000/2001 to 2098/2099 (not «{value}»).",
    "bad_classes": (
        "Class name «{value}» does not fit. Each class is 1–10 letters or digits, separated "
        "by commas, at most 20 classes, e.g. A, B, C."
    ),
    "bad_class": "Class name «{value}» does not fit. Write 1–10 letters or digits, e.g. A.",
    "bad_nidn": "An NIDN has exactly 10 digits; yours has {count}.",
    "bad_nidn_chars": "An NIDN has digits only (10 digits), no letters.",
    "bad_email": "«{value}» is not a complete email address. Write it like name@unr.ac.id.",
    "bad_student_item": (
        "«{value}» is neither a NIM (5–20 letters/digits with a digit) nor an email "
        "address. Separate them with commas, or type - if none."
    ),
    "bad_student_many": "At most 200 students per request; you wrote {count}.",
    "bad_nim": "NIM «{value}» does not fit. Write 5–20 letters or digits, no spaces.",
    "expected_text": "Please type your answer.",
    "bad_role": "role «{value}» is not mahasiswa or dosen (student or lecturer).",
    "bad_name": "name «{value}» must have 2 to 200 characters.",
    "form_intro": (
        "To request <b>{title}</b> by email, reply to this email with the form below filled "
        "in (one <i>Field: value</i> line per item). {choices}"
    ),
    "form_choices": "Choices for {label}: {options}.",
    "form_errors": "Some items need fixing:",
    "form_missing": "Items still empty (reply with them filled in):",
    "form_confirm": (
        "Reply <i>YES</i> to send this request, or send <i>Field: new value</i> lines to "
        "change it."
    ),
    "ask_nim": "To activate your account, type your NIM (NIDN for lecturers).",
    "ask_code": (
        "A 6-digit code was sent to <b>{email}</b>; it is valid for {minutes} minutes. "
        "Type it here."
    ),
    "code_email_subject": "SUNARI account activation code",
    "code_email": (
        "Your SUNARI account activation code: <b>{code}</b>\n"
        "It is valid for {minutes} minutes. Never give it to anyone, helpdesk staff "
        "included.\nIf you did not ask for it, ignore this email."
    ),
    "bad_code": "The code has 6 digits, e.g. 123456. Type the code from your email.",
    "wrong_code": "Wrong code. Attempts left: {left}.",
    "code_locked": (
        "The code was wrong {attempts} times, so it was cancelled. Ask for a new one with "
        "/aktivasi later, or ask staff with /staf."
    ),
    "code_expired": "The code has expired (valid {minutes} minutes). Send a new one?",
    "no_code": "There is no active code. Send a new one?",
    "rate_limited": (
        "{count} codes were requested in the last hour. For safety, try again at about {at}, "
        "or ask staff with /staf."
    ),
    "already_linked": (
        "Your account is already linked to {role} <b>{name}</b> ({number}). "
        "Anything else? Just write here."
    ),
    "activated": (
        "Done! Your account is linked to <b>{name}</b> ({number}). The activation request "
        "is ticket <b>#{ticket}</b>; the platform staff will prepare your LMS account and "
        "tell you here."
    ),
    "linked_lecturer": (
        "Done! Your account is linked to lecturer <b>{name}</b> ({number}). You need not type "
        "your NIDN and email in the forms again."
    ),
    "to_staff_activation": (
        "{reason} I passed it to staff as ticket <b>#{number}</b>; they will help you here."
    ),
    "reason_unknown": "This NIM/NIDN is not in the activation roster.",
    "reason_no_email": "The activation roster has no email address for this NIM/NIDN.",
    "reason_taken": "This NIM/NIDN is already linked to another account.",
    "reason_no_mail": "The activation code cannot be sent by email right now.",
    "done_course_creation": (
        "✅ The course <b>{course_code} {course_name}</b> was created (ticket #{number}); "
        "you can find it in the LMS{where}."
    ),
    "done_enrollment": (
        "✅ Your enrollment request for <b>{course_code}</b> class {klass} was handled "
        "(ticket #{number}). Please check it in the LMS{where}."
    ),
    "done_activation": (
        "✅ Your LMS account (NIM {nim}) is ready (ticket #{number}). Please log in{where}."
    ),
    "done_other": "✅ Your request (ticket #{number}) was handled by staff.",
    "where_url": " at {url}",
}


def text(language: str, key: str, /, **values: object) -> str:
    """The message `key` in `language` (falling back to Indonesian), values escaped."""
    template = (_EN if language == "en" else _ID).get(key) or _ID[key]
    return fmt(template, **values)


def plain(language: str, key: str) -> str:
    """A template with no values (a button label, a field prompt)."""
    return (_EN if language == "en" else _ID).get(key) or _ID[key]


def has(key: str) -> bool:
    """Whether `key` is a known text (every key has an Indonesian form)."""
    return key in _ID
