"""What the helpdesk says about the LMS (Bahasa Indonesia first, English), and LMS errors in
plain words."""

from __future__ import annotations

from handlers.lms_port import LmsError, LmsUnavailable
from handlers.markup import fmt

_ID: dict[str, str] = {
    "ask_both": (
        "Saya bisa memeriksanya langsung di LMS. Tuliskan <b>kode mata kuliah</b> "
        "(mis. IF201) dan <b>email atau username LMS</b> Anda (mahasiswa: NIM)."
    ),
    "ask_code": "Tuliskan <b>kode mata kuliah</b> yang dicari (mis. IF201).",
    "ask_account": (
        "Tuliskan <b>email atau username LMS</b> Anda (mahasiswa: NIM) agar saya bisa "
        "memeriksa pendaftaran Anda."
    ),
    "enrolled": (
        "Mata kuliah <b>{code}</b> ada di LMS dan akun <b>{account}</b> sudah terdaftar:\n"
        "{courses}"
    ),
    "course_line": "• {name} ({shortname}): {url}",
    "not_enrolled": (
        "Mata kuliah <b>{code}</b> ada di LMS, tetapi akun <b>{account}</b> belum terdaftar "
        "di dalamnya. Permintaan enrollment diteruskan ke staf sebagai tiket <b>#{number}</b>."
    ),
    "not_enrolled_pending": (
        "Mata kuliah <b>{code}</b> ada di LMS; permintaan enrollment Anda sudah ada sebagai "
        "tiket <b>#{number}</b>. Mohon tunggu kabar dari staf."
    ),
    "account_missing": (
        "Mata kuliah <b>{code}</b> ada di LMS, tetapi akun dengan <b>{account}</b> tidak "
        "ditemukan. Periksa penulisannya, atau ajukan aktivasi akun."
    ),
    "course_missing": (
        "Mata kuliah dengan kode <b>{code}</b> belum ada di LMS. Dosen pengampu dapat "
        "mengajukan pembuatan mata kuliah daring; mahasiswa, mohon sampaikan ke dosen Anda."
    ),
    "unavailable": (
        "LMS sedang tidak dapat diperiksa. Staf kami akan memeriksanya; permintaan Anda "
        "dicatat sebagai tiket <b>#{number}</b>."
    ),
    "button_create_request": "📝 Ajukan pembuatan MK",
    "button_activation": "🔑 Aktivasi akun",
    "created_user": (
        "Mata kuliah daring <b>{name}</b> sudah dibuat di LMS (tiket #{number}):\n{courses}\n"
        "Anda terdaftar sebagai pengajar."
    ),
    "created_user_no_teacher": (
        "Mata kuliah daring <b>{name}</b> sudah dibuat di LMS (tiket #{number}):\n{courses}\n"
        "Akun LMS Anda belum dapat didaftarkan sebagai pengajar; staf kami akan membantu."
    ),
    "enrol_user": (
        "Enrollment mata kuliah <b>{course}</b> (tiket #{number}) selesai.\n"
        "Terdaftar ({enrolled_count}): {enrolled}\n"
        "Tidak ditemukan di LMS ({missing_count}): {missing}"
    ),
    # Staff-group texts.
    "card_lookup_failed": (
        "⚠️ Pemeriksaan LMS untuk tiket <b>#{number}</b> gagal: {error}\n"
        "Periksa manual: kode MK {code}, akun {account}."
    ),
    "card_enrol_request": (
        "LMS: mata kuliah {shortname} ({url}) ada; akun {account} (id {user_id}) belum terdaftar."
    ),
    "created_staff": (
        "✅ {staff} membuat mata kuliah di LMS untuk tiket <b>#{number}</b>:\n{courses}"
    ),
    "used_staff": (
        "✅ {staff} memakai mata kuliah yang sudah ada di LMS untuk tiket <b>#{number}</b>:\n"
        "{courses}"
    ),
    "teacher_enrolled": "Dosen {email} terdaftar sebagai pengajar.",
    "teacher_missing": (
        "⚠️ Akun dosen dengan email {email} tidak ditemukan di LMS: pengajar belum didaftarkan."
    ),
    "teacher_failed": "⚠️ Dosen {email} belum terdaftar sebagai pengajar: lihat galat LMS.",
    "taken_staff": (
        "ℹ️ Nama singkat <b>{shortname}</b> (tiket #{number}) sudah dipakai oleh mata kuliah "
        "“{fullname}”: {url}\nGunakan mata kuliah itu?"
    ),
    "enrol_staff": (
        "✅ {staff}: enrollment tiket <b>#{number}</b> di {course}.\n"
        "Terdaftar ({enrolled_count}): {enrolled}\n"
        "Tidak ditemukan ({missing_count}): {missing}"
    ),
    "action_failed": "⚠️ Tindakan LMS untuk tiket <b>#{number}</b> gagal: {error}",
    "activation_state": "🔎 Akun LMS untuk tiket <b>#{number}</b> ({account}): {state}",
    "state_exists": "ada dan aktif (username {username})",
    "state_suspended": "ada tetapi ditangguhkan/suspended (username {username})",
    "state_missing": "tidak ditemukan",
    "state_unknown": "tidak dapat diperiksa: {error}",
    "no_category": (
        "kategori LMS untuk fakultas “{faculty}” belum disetel (lms.categories di konfigurasi)"
    ),
    "no_course": "mata kuliah {code} (kelas {cls}, {year}) tidak ditemukan di LMS",
    "many_courses": "beberapa mata kuliah cocok dengan {code}: {names}; pilih dan enrol manual",
    "no_students": "daftar mahasiswa pada tiket kosong",
    "nobody": "-",
    "button_lms_create": "🏫 Buat MK di LMS",
    "button_lms_enrol": "👥 Enrol di LMS",
    "button_lms_use": "♻️ Pakai {shortname}",
    "queued": "Diproses di LMS…",
    "already_queued": "Tindakan ini sedang diproses.",
    "not_configured": "LMS belum disetel (lms.url).",
    "wrong_kind": "Tiket #{number} bukan permintaan yang bisa diproses di LMS.",
    "already_created": "Mata kuliah untuk tiket #{number} sudah dibuat di LMS.",
}

_EN: dict[str, str] = {
    "ask_both": (
        "I can check the LMS directly. Please write the <b>course code</b> (e.g. IF201) and "
        "your <b>LMS email or username</b> (students: NIM)."
    ),
    "ask_code": "Please write the <b>course code</b> you are looking for (e.g. IF201).",
    "ask_account": (
        "Please write your <b>LMS email or username</b> (students: NIM) so I can check your "
        "enrolment."
    ),
    "enrolled": (
        "Course <b>{code}</b> is in the LMS and account <b>{account}</b> is enrolled:\n{courses}"
    ),
    "not_enrolled": (
        "Course <b>{code}</b> is in the LMS, but account <b>{account}</b> is not enrolled in "
        "it. An enrolment request went to staff as ticket <b>#{number}</b>."
    ),
    "not_enrolled_pending": (
        "Course <b>{code}</b> is in the LMS; your enrolment request is already ticket "
        "<b>#{number}</b>. Please wait for staff."
    ),
    "account_missing": (
        "Course <b>{code}</b> is in the LMS, but no account with <b>{account}</b> was found. "
        "Check the spelling, or ask for account activation."
    ),
    "course_missing": (
        "There is no course with code <b>{code}</b> in the LMS yet. The lecturer can request "
        "the online course; students, please tell your lecturer."
    ),
    "unavailable": (
        "The LMS cannot be checked right now. Our staff will check; your request is ticket "
        "<b>#{number}</b>."
    ),
    "button_create_request": "📝 Request the course",
    "button_activation": "🔑 Account activation",
    "created_user": (
        "The online course <b>{name}</b> was created in the LMS (ticket #{number}):\n"
        "{courses}\nYou are enrolled as its teacher."
    ),
    "created_user_no_teacher": (
        "The online course <b>{name}</b> was created in the LMS (ticket #{number}):\n"
        "{courses}\nYour LMS account could not be enrolled as teacher yet; staff will help."
    ),
    "enrol_user": (
        "Enrolment in <b>{course}</b> (ticket #{number}) is done.\n"
        "Enrolled ({enrolled_count}): {enrolled}\n"
        "Not found in the LMS ({missing_count}): {missing}"
    ),
}

# LMS errors for staff (Indonesian) and for the command line (English).
_ERRORS: dict[str, dict[str, str]] = {
    "id": {
        "invalidtoken": "token web service ditolak LMS (salah, dicabut, atau dibatasi IP)",
        "accessexception": "fungsi {function} belum ditambahkan ke layanan web service di LMS",
        "nopermissions": "akun token tidak punya izin untuk {function}",
        "required_capability_exception": "akun token tidak punya izin untuk {function}",
        "invalidparameter": "LMS menolak data yang dikirim ke {function}",
        "wsnoinstance": "metode enrol manual belum aktif di mata kuliah ini",
        "wsusercannotassign": "akun token tidak boleh memberikan peran itu (izin assign role)",
        "invalidrecord": "LMS tidak menemukan data yang dirujuk (mis. id kategori) di {function}",
        "timeout": "LMS tidak menjawab dalam {timeout} detik",
        "unreachable": "LMS tidak dapat dihubungi (jaringan atau alamat lms.url)",
        "notjson": "jawaban LMS tidak terbaca (alamat lms.url salah?)",
        "http": "LMS menjawab dengan galat HTTP {code}",
        "other": "LMS menolak {function}: {message} ({code})",
    },
    "en": {
        "invalidtoken": "the LMS refused the web-service token (wrong, revoked or IP-restricted)",
        "accessexception": "function {function} is not added to the LMS's web service",
        "nopermissions": "the token's user lacks a capability needed by {function}",
        "required_capability_exception": "the token's user lacks a capability for {function}",
        "invalidparameter": "the LMS refused the data sent to {function}",
        "wsnoinstance": "manual enrolment is not enabled in this course",
        "wsusercannotassign": "the token's user may not assign that role (Allow role assignments)",
        "invalidrecord": "the LMS did not find a record {function} refers to (a category id?)",
        "timeout": "the LMS did not answer within {timeout} s",
        "unreachable": "the LMS cannot be reached (network, or the address in lms.url)",
        "notjson": "the LMS's answer is unreadable (is lms.url right?)",
        "http": "the LMS answered with HTTP error {code}",
        "other": "the LMS refused {function}: {message} ({code})",
    },
}


def say(language: str, key: str, /, **values: object) -> str:
    """An LMS text in `language` (falling back to Indonesian), values escaped."""
    template = (_EN if language == "en" else _ID).get(key) or _ID[key]
    return fmt(template, **values)


def label(language: str, key: str, /, **values: object) -> str:
    """A button label: plain text, nothing escaped."""
    template = (_EN if language == "en" else _ID).get(key) or _ID[key]
    return template.format(**values)


def plain_error(exc: LmsError, *, timeout: float, language: str = "id") -> str:
    """What went wrong with an LMS call, for staff or an administrator; plain text."""
    words = _ERRORS["en" if language == "en" else "id"]
    code = exc.errorcode
    key = code if code in words else "other"
    if isinstance(exc, LmsUnavailable) and code.startswith("http"):
        key, code = "http", code.removeprefix("http")
    return words[key].format(
        function=exc.function, timeout=f"{timeout:g}", message=exc.message[:200], code=code
    )


def missing_functions(functions: tuple[str, ...], *, language: str = "id") -> str:
    """The start-up check's finding about functions the service lacks, in plain words."""
    names = ", ".join(functions)
    if language == "en":
        return f"the LMS web service lacks these functions (add them to the service): {names}"
    return f"layanan web service LMS belum memuat fungsi berikut (tambahkan): {names}"
