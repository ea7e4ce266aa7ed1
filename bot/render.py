"""Cutting messages to Telegram's length limits without breaking tags, entities or emoji."""

from __future__ import annotations

import html
import re

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# One token is a tag, an entity, or one visible character with the marks that belong to it
# (variation selectors, skin tones, keycap, zero-width joiner sequences), so an emoji such as
# *️⃣ or a family sequence is never cut apart.
_MARK = r"[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]"
_CHAR = rf"[^\n]{_MARK}*(?:\u200d[^\n]{_MARK}*)*"
_HTML_TOKEN = re.compile(rf"<[^>]*>|&#?[a-zA-Z0-9]+;|\n|{_CHAR}|.", re.DOTALL)
_PLAIN_TOKEN = re.compile(rf"\n|{_CHAR}|.", re.DOTALL)
_OPEN_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_CLOSE_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, *, limit: int = TEXT_LIMIT, markup: bool = True) -> list[str]:
    """Pieces of `text`, each at most `limit` visible UTF-16 units, cut at line breaks.

    A line longer than `limit` is cut between characters; with `markup` (Telegram HTML) a
    cut never falls inside a tag or an entity, and tags open at a cut are closed at the end
    of one piece and opened again at the start of the next. The visible text of the pieces,
    joined, is the visible text of `text`.
    """
    pieces: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        line_size = _visible(line, markup)
        if size + line_size <= limit:
            current, size = current + line, size + line_size
            continue
        if current:
            pieces.append(current)
        if line_size <= limit:
            current, size = line, line_size
            continue
        *full, current = _hard_split(line, limit, markup)
        pieces.extend(full)
        size = _visible(current, markup)
    if current:
        pieces.append(current)
    return pieces or [text]


def _visible(text: str, markup: bool) -> int:
    if not markup:
        return utf16_len(text)
    return utf16_len(html.unescape(re.sub(r"<[^>]*>", "", text)))


def _hard_split(line: str, limit: int, markup: bool) -> list[str]:
    tokens = (_HTML_TOKEN if markup else _PLAIN_TOKEN).findall(line)
    pieces: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    current, size = "", 0
    for token in tokens:
        is_tag = markup and token.startswith("<")
        width = 0 if is_tag else _visible(token, markup)
        if size + width > limit and size > 0:
            pieces.append(current + "".join(f"</{name}>" for name, _ in reversed(open_tags)))
            current, size = "".join(tag for _, tag in open_tags), 0
        current, size = current + token, size + width
        if is_tag:
            _track(token, open_tags)
    pieces.append(current)
    return pieces


def _track(tag: str, open_tags: list[tuple[str, str]]) -> None:
    closing = _CLOSE_TAG.fullmatch(tag)
    if closing:
        name = closing.group(1).lower()
        for index in range(len(open_tags) - 1, -1, -1):
            if open_tags[index][0] == name:
                del open_tags[index]
                break
        return
    opening = _OPEN_TAG.fullmatch(tag)
    if opening:
        open_tags.append((opening.group(1).lower(), tag))
