"""Files forwarded to another chat or channel: named in a message, loaded when it is sent.

An email's attachments stay inside the raw message kept in `inbound_updates`, a Telegram
file on Telegram's servers; copying their bytes into every outbox row that forwards them
would bloat the outbox. Such a row names them in `extra[FILE_REFS]`, and the sender loads
them through a `FileLoader` just before delivery.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from handlers.messages import Attachment, Channel, Outbound, OutFile
from handlers.texts import text

logger = logging.getLogger(__name__)

FILE_REFS = "file_refs"
# More files than this in one message are listed in the report, not forwarded.
MAX_FORWARDED = 5
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
_SAFE_EXTENSIONS = frozenset({
    ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf",
    ".txt", ".csv", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".heic", ".bmp", ".mp3", ".m4a",
    ".ogg", ".oga", ".wav", ".mp4", ".mov", ".zip",
})  # fmt: skip
# Telegram gives no type for a photo (always JPEG) and sometimes none for the rest.
_KIND_TYPES = {"photo": "image/jpeg", "voice": "audio/ogg", "video": "video/mp4"}

FileLoader = Callable[[str], Awaitable[bytes | None]]


@dataclass(frozen=True)
class FileRef:
    """One file to load at delivery: its channel handle, the sender's name for it, its type.

    `number` is its place among the message's files: `lampiran-2.pdf` is the second
    wherever it goes, alone in a Telegram message or beside the others in an email.
    """

    ref: str
    name: str
    mime_type: str
    number: int = 1


def kept(attachments: Sequence[Attachment], channel: Channel) -> list[FileRef]:
    """The files of a message that can be forwarded, as refs a loader understands.

    An email's ref already names its channel (empty: over the size limit, listed only); a
    Telegram file id gets `telegram:` in front. A sticker is no file for anyone to read, and
    an empty file is one Telegram refuses to send.
    """
    found: list[FileRef] = []
    for item in attachments:
        if not _forwardable(item):
            continue
        ref = item.ref if channel == Channel.EMAIL else f"{channel.value}:{item.ref}"
        mime_type = item.mime_type or _KIND_TYPES.get(item.kind, "application/octet-stream")
        found.append(FileRef(ref, item.name or item.kind, mime_type, len(found) + 1))
    return found[:MAX_FORWARDED]


def left_out(attachments: Sequence[Attachment]) -> list[str]:
    """Names of the files `kept` does not forward (too big, empty, past the fifth), for staff."""
    forwarded = {id(item) for item in [a for a in attachments if _forwardable(a)][:MAX_FORWARDED]}
    return [
        item.name or item.kind
        for item in attachments
        if item.kind != "sticker" and id(item) not in forwarded
    ]


def _forwardable(item: Attachment) -> bool:
    return bool(item.ref) and item.kind != "sticker" and item.size != 0


def by_prefix(loaders: Mapping[str, FileLoader]) -> FileLoader:
    """One loader over several, each for the refs that begin with its prefix."""

    async def load(ref: str) -> bytes | None:
        for prefix, loader in loaders.items():
            if ref.startswith(prefix):
                return await loader(ref)
        logger.warning("no loader for file %s", ref)
        return None

    return load


def to_extra(files: Sequence[FileRef]) -> dict[str, str]:
    """The `extra` entry that makes the sender attach `files`; empty when there are none."""
    if not files:
        return {}
    return {FILE_REFS: json.dumps([[f.ref, f.name, f.mime_type, f.number] for f in files])}


def generated_name(index: int, name: str, mime_type: str) -> str:
    """`lampiran-1.png`: never the name the sender chose, only its extension if it has one.

    Only the extensions of documents, pictures and sound a helpdesk expects are kept: a
    program or script (`.exe`, `.js`, `.html`) becomes `.bin`, which no click runs and mail
    servers do not refuse.
    """
    extension = _EXTENSION.search(name)
    suffix = extension.group(0).lower() if extension else mimetypes.guess_extension(mime_type)
    return f"lampiran-{index}{suffix if suffix in _SAFE_EXTENSIONS else '.bin'}"


async def attach(outbound: Outbound, load: FileLoader | None) -> Outbound:
    """`outbound` with the files its `extra` names loaded; one that is gone is said in the text."""
    listed = outbound.extra.get(FILE_REFS)
    if not listed:
        return outbound
    files: list[OutFile] = []
    missing: list[str] = []
    try:
        entries = _entries(listed)
    except (ValueError, TypeError) as exc:
        # Only a damaged row gets here; its text still goes, saying the files did not.
        logger.error("outbox message to %s lists its files wrongly: %s", outbound.chat_id, exc)
        entries, missing = [], ["?"]
    for ref, name, mime_type, number in entries:
        data = await load(ref) if load is not None else None
        if data is None:
            logger.warning("file %s for outbox message to %s is gone", ref, outbound.chat_id)
            missing.append(name)
            continue
        file_name = generated_name(number, name, mime_type)
        # A file renamed to .bin is sent as plain bytes too, whatever type it claimed.
        kind = "application/octet-stream" if file_name.endswith(".bin") else mime_type
        files.append(OutFile(file_name, kind, data))
    html = outbound.html
    if missing:
        html += "\n" + text("id", "file_gone", names=", ".join(missing))
    return replace(outbound, html=html, files=(*outbound.files, *files))


def _entries(listed: str) -> list[tuple[str, str, str, int]]:
    """FILE_REFS as (ref, name, type, number); ValueError or TypeError when damaged.

    Rows queued before files were numbered list three fields: their place is the number.
    """
    entries = []
    for index, entry in enumerate(json.loads(listed), 1):
        ref, name, mime_type, *rest = entry
        number = rest[0] if rest else index
        if not all(isinstance(v, str) for v in (ref, name, mime_type)) or len(rest) > 1:
            raise ValueError(f"not [ref, name, type, number]: {entry!r}"[:120])
        entries.append((ref, name, mime_type, int(number)))
    return entries
