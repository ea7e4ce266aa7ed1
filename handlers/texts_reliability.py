"""What the reliability features say (health alerts, refused input), Indonesian first."""

from __future__ import annotations

from handlers.markup import fmt

_ID: dict[str, str] = {
    "component_failing": (
        "⚠️ Komponen <b>{component}</b> gagal sejak {since} WITA ({minutes} menit): {detail}"
    ),
    "component_recovered": (
        "✅ Komponen <b>{component}</b> kembali normal setelah gagal {minutes} menit."
    ),
    "already_yours": "Tiket #{number} sudah Anda ambil.",
    "file_too_big": (
        "Maaf, berkas Anda ({size_mb} MB) terlalu besar; batasnya {limit_mb} MB. "
        "Kirim berkas yang lebih kecil (misalnya tangkapan layar), atau tuliskan pertanyaan "
        "Anda dalam teks."
    ),
}

_EN: dict[str, str] = {
    "component_failing": (
        "⚠️ Component <b>{component}</b> failing since {since} WITA ({minutes} min): {detail}"
    ),
    "component_recovered": (
        "✅ Component <b>{component}</b> is working again after {minutes} min of failures."
    ),
    "already_yours": "Ticket #{number} is already yours.",
    "file_too_big": (
        "Sorry, your file ({size_mb} MB) is too large; the limit is {limit_mb} MB. Send a "
        "smaller file (a screenshot, say), or write your question as text."
    ),
}


def text(language: str, key: str, /, **values: object) -> str:
    """The message `key` in `language` (falling back to Indonesian), values escaped."""
    template = (_EN if language == "en" else _ID).get(key) or _ID[key]
    return fmt(template, **values)
