"""Text normalisation for matching: casual spellings, abbreviations, stop words, stemming."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from Sastrawi.Stemmer.StemmerFactory import StemmerFactory


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`: keeps long word lists readable."""
    return frozenset(text.split())


# Multi-word expressions first, so that their parts are not read one by one.
PHRASES: tuple[tuple[str, str], ...] = (
    ("terima kasih", "terimakasih"),
    ("trima kasih", "terimakasih"),
    ("thank you", "terimakasih"),
    ("kata sandi", "password"),
    ("kata kunci", "password"),
    ("log in", "login"),
    ("sign in", "login"),
    ("sign up", "daftar"),
    ("mata kuliah", "matakuliah"),
    ("mata kuliahnya", "matakuliah"),
    ("e learning", "elearning"),
    ("video conference", "vicon"),
    ("video conf", "vicon"),
    ("video call", "vicon"),
    ("google meet", "meet"),
    ("g meet", "meet"),
    ("big blue button", "bigbluebutton"),
    ("kerja sama", "kerjasama"),
    ("tanda tangan", "tandatangan"),
    ("pangkalan data", "pddikti"),
    ("enrollment key", "enrol key"),
    ("enrolment key", "enrol key"),
    ("om swastiastu", "swastiastu"),
    ("good morning", "selamat pagi"),
    ("good afternoon", "selamat siang"),
    ("good evening", "selamat malam"),
    ("ca not", "tidak bisa"),
)

# One word for each spelling people use; English words become their Indonesian twin.
# fmt: off
WORDS: dict[str, str] = {
    # pronouns, vocatives and question words
    "sy": "saya", "aq": "saya", "aku": "saya", "gw": "saya", "gue": "saya", "ane": "saya",
    "gmn": "bagaimana", "gmna": "bagaimana", "gimana": "bagaimana", "bgmn": "bagaimana",
    "gmana": "bagaimana", "gimn": "bagaimana", "knp": "kenapa", "napa": "kenapa",
    "dmn": "mana", "dimana": "mana", "kemana": "mana", "kmn": "mana", "kpn": "kapan",
    "mimin": "min", "kakak": "kak", "ka": "kak", "kk": "kak", "bapak": "pak", "ibu": "bu",
    # negation and particles
    "ga": "tidak", "gak": "tidak", "gk": "tidak", "ngga": "tidak", "nggak": "tidak",
    "engga": "tidak", "enggak": "tidak", "ndak": "tidak", "tdk": "tidak", "tak": "tidak",
    "g": "tidak", "kagak": "tidak", "blm": "belum", "blom": "belum", "belom": "belum",
    "udh": "sudah", "sdh": "sudah", "udah": "sudah", "dah": "sudah", "sudh": "sudah",
    "dg": "dengan", "dgn": "dengan", "sm": "sama", "yg": "yang", "krn": "karena",
    "karna": "karena", "tp": "tapi", "tpi": "tapi", "jd": "jadi", "bs": "bisa",
    "bsa": "bisa", "lg": "lagi", "aja": "saja", "utk": "untuk", "u": "untuk", "dr": "dari",
    "sblm": "sebelum", "trs": "terus", "gitu": "begitu", "emg": "memang", "gt": "begitu",
    "pengen": "ingin", "pgn": "ingin", "mo": "mau", "mw": "mau", "nanya": "tanya",
    "tny": "tanya", "tlg": "tolong", "tolongin": "tolong", "plis": "tolong",
    "makasih": "terimakasih", "makasi": "terimakasih", "mksh": "terimakasih",
    "mks": "terimakasih", "trims": "terimakasih", "trimakasih": "terimakasih",
    "thanks": "terimakasih", "thank": "terimakasih", "thx": "terimakasih", "tq": "terimakasih",
    "ty": "terimakasih", "tks": "terimakasih", "suksma": "terimakasih",
    "hallo": "halo", "hai": "halo", "hi": "halo", "hello": "halo", "helo": "halo",
    "hey": "halo", "hei": "halo", "assalamu'alaikum": "assalamualaikum",
    "assalamu": "assalamualaikum", "aslm": "assalamualaikum", "askum": "assalamualaikum",
    "samlekom": "assalamualaikum", "morning": "pagi",
    # the platform and its objects
    "matkul": "matakuliah", "makul": "matakuliah", "mk": "matakuliah", "course": "matakuliah",
    "courses": "matakuliah", "kls": "kelas", "class": "kelas", "classes": "kelas",
    "e-learning": "elearning", "elearn": "elearning", "el": "elearning",
    "pw": "password", "pass": "password", "pwd": "password", "passwd": "password",
    "paswd": "password", "sandi": "password", "passwordnya": "password",
    "log-in": "login", "logon": "login", "signin": "login", "not": "tidak",
    "don't": "tidak", "doesn't": "tidak", "didn't": "tidak", "isn't": "tidak",
    "acc": "akun", "account": "akun", "accounts": "akun", "aktifasi": "aktivasi",
    "activate": "aktivasi", "activated": "aktivasi", "activation": "aktivasi",
    "aktifkan": "aktivasi", "aktifin": "aktivasi", "aktipin": "aktivasi",
    "registrasi": "daftar", "register": "daftar", "registration": "daftar",
    "regist": "daftar", "registered": "daftar", "signup": "daftar", "enroll": "enrol",
    "enrol": "enrol", "enrollment": "enrol", "enrolment": "enrol", "enrolled": "enrol",
    "enrolling": "enrol", "enroled": "enrol", "enrolkan": "enrol", "forgot": "lupa",
    "forget": "lupa", "forgotten": "lupa", "lupain": "lupa", "locked": "terkunci",
    "keblokir": "blokir", "diblokir": "blokir", "blocked": "blokir", "new": "baru",
    "create": "buat", "make": "buat", "created": "buat", "bikinin": "bikin",
    "find": "cari", "missing": "hilang", "appear": "muncul", "show": "muncul",
    "shows": "muncul", "visible": "muncul", "nongol": "muncul", "keliatan": "lihat",
    "kliatan": "lihat", "see": "lihat", "student": "mahasiswa", "students": "mahasiswa",
    "mhs": "mahasiswa", "maba": "mahasiswa baru", "mahasiswi": "mahasiswa", "lecturer": "dosen",
    "lecturers": "dosen", "dsn": "dosen", "pelatihan": "pelatihan", "training": "pelatihan",
    "trainings": "pelatihan", "workshop": "pelatihan", "bimtek": "pelatihan",
    "diklat": "pelatihan", "schedule": "jadwal", "jadual": "jadwal",
    "external": "eksternal", "ekstern": "eksternal", "another": "lain", "other": "lain",
    "outside": "luar", "spada": "pditt", "form": "formulir", "forms": "formulir",
    "download": "unduh", "didownload": "unduh", "downloadnya": "unduh",
    "ttd": "tandatangan", "signed": "tandatangan", "signature": "tandatangan",
    "sign": "tandatangan", "ditandatangani": "tandatangan", "stempel": "cap",
    "stamp": "cap", "stamped": "cap", "kaprodi": "kaprodi", "send": "kirim",
    "dikirim": "kirim", "sent": "kirim", "partner": "mitra", "partners": "mitra",
    "dean": "dekan", "sertif": "sertifikat", "certificate": "sertifikat",
    "certificates": "sertifikat", "serifikat": "sertifikat", "grade": "nilai",
    "grades": "nilai", "score": "nilai", "pdpt": "pddikti", "feeder": "pddikti",
    "dikti": "pddikti", "report": "lapor", "reported": "lapor", "cooperation": "kerjasama",
    "partnership": "kerjasama", "kerjsama": "kerjasama", "moa": "mou", "visit": "kunjung",
    "agreement": "perjanjian", "vicon": "vicon", "vidcon": "vicon", "vc": "vicon",
    "zoom": "zoom", "gmeet": "meet", "bbb": "bigbluebutton", "web-ex": "webex",
    "live": "sinkron", "synchronous": "sinkron", "ticket": "tiket", "tickets": "tiket",
    "tiketnya": "tiket", "update": "status", "request": "permintaan",
    "req": "permintaan", "progress": "progres",
    "human": "manusia", "person": "orang", "staff": "staf",
    "cs": "admin", "talk": "bicara", "ngobrol": "bicara", "chat": "bicara",
    "connect": "hubung", "sambungkan": "hubung", "help": "bantu", "bantuin": "bantu",
    "fee": "biaya", "fees": "biaya", "tuition": "ukt", "graduation": "wisuda",
    "scholarship": "beasiswa", "parking": "parkir",
}
# fmt: on

# Words that carry no topic: function words, politeness, chat filler (after WORDS).
STOP_WORDS: frozenset[str] = word_set(
    """
    yang di ke dari dan atau untuk dengan pada ini itu saya kami kita anda kamu dia mereka
    apa apakah bagaimana mana kapan siapa berapa kenapa mengapa ya yah dong sih nih deh kok
    lah kah min kak pak bu mas mbak tolong mohon mau ingin tanya cara caranya bisa ada sudah
    juga saja lagi tapi jadi karena kalau kalo agar supaya akan adalah oleh secara sebagai
    para nya sama begitu memang terus sebelum harus perlu boleh dapat punya
    oke ok okay sip siap baik jelas paham mengerti mantap noted banyak sekali banget bgt
    info informasi lot much
    the a an to of for in on at my i me we our us you your is are am be do does did how
    what where when who which why can could would will please it this that there any
    and or with from about have has want need get got up just no
    """
)

_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_REPEATS = re.compile(r"(.)\1{2,}")
_PHRASE_MAP = dict(PHRASES)
_PHRASE = re.compile(r"\b(?:" + "|".join(re.escape(old) for old, _ in PHRASES) + r")\b")
_SUFFIXES = ("nya", "ku", "mu")


def clean(text: str) -> str:
    """Lower case, squeezed letter runs ("haloooo") and the multi-word phrases joined."""
    text = _REPEATS.sub(r"\1\1", text.lower())
    text = text.replace("can't", "ca not").replace("cannot", "ca not").replace("’", "'")
    return _PHRASE.sub(lambda found: _PHRASE_MAP[found.group()], text)


def words(text: str) -> list[str]:
    """The words of a text, each in its usual spelling (WORDS applied)."""
    result: list[str] = []
    for token in _TOKEN.findall(clean(text)):
        result += WORDS.get(token, token).split()
    return result


class Stemmer:
    """Indonesian stemming of single words with a bounded cache.

    Sastrawi builds its dictionary when created, so one Stemmer should live as long as
    the Matcher that uses it.
    """

    def __init__(self, *, cache_size: int = 50_000) -> None:
        self._stemmer = StemmerFactory().create_stemmer()
        self.stem: Callable[[str], str] = lru_cache(maxsize=cache_size)(self._stem)

    def _stem(self, word: str) -> str:
        if len(word) <= 3 or not word.isalpha():
            return word
        stem = str(self._stemmer.stem(word))
        if stem == word:
            # Sastrawi keeps words it does not know, even with a clitic ("passwordnya").
            stem = next(
                (word[: -len(end)] for end in _SUFFIXES if word.endswith(end) and len(word) > 6),
                word,
            )
        return WORDS.get(stem, stem)
