"""Telegram's message formatting rules: HTML, MarkdownV2 and Markdown parsed to plain text."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

Entity = dict[str, Any]

HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# Outside tags every "&" must start one of these; html.parser alone would skip some silently.
TAG = re.compile(r"<[^<>]*>")
AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);)")
MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "Blockquote",
}


class ParseError(ValueError):
    """The text breaks the markup rules; the message is the part after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Builder:
    """Accumulates plain text and the entities that cover it, offsets in UTF-16 units."""

    source: str
    parts: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    position: int = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.position += utf16_len(text)

    def close(self, kind: str, start: int, **extra: Any) -> None:
        # Telegram drops entities that cover no text.
        if self.position > start:
            self.entities.append({"type": kind, "offset": start, "length": self.position - start})
            self.entities[-1].update(extra)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def result(self) -> tuple[str, list[Entity]]:
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ordered


class _HtmlChecker(HTMLParser):
    """Walks Telegram-flavoured HTML, failing on anything Telegram would refuse."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.out = _Builder(text)
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.line_starts = [0]
        self.line_starts += [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def byte_pos(self) -> int:
        line, column = self.getpos()
        return self.out.byte_offset(self.line_starts[line - 1] + column)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise ParseError(f'Unsupported start tag "{tag}" at byte offset {self.byte_pos()}')
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise ParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_pos()}'
            )
        self.stack.append((tag, self.out.position, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise ParseError(f'Unsupported start tag "{tag}/" at byte offset {self.byte_pos()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise ParseError(f"Unexpected end tag at byte offset {self.byte_pos()}")
        open_tag, start, attributes = self.stack[-1]
        if open_tag != tag:
            raise ParseError(
                f"Unmatched end tag at byte offset {self.byte_pos()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        self.stack.pop()
        self._emit(tag, start, attributes)

    def _emit(self, tag: str, start: int, attributes: dict[str, str | None]) -> None:
        kind = HTML_TAGS[tag]
        if tag == "a":
            self.out.close(kind, start, url=attributes.get("href") or "")
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language.
            self.stack[-1][2]["language"] = (attributes.get("class") or "")[9:] or None
        elif tag == "pre" and attributes.get("language"):
            self.out.close(kind, start, language=attributes["language"])
        elif tag == "blockquote" and "expandable" in attributes:
            self.out.close("expandable_blockquote", start)
        elif tag == "tg-emoji":
            self.out.close(kind, start, custom_emoji_id=attributes.get("emoji-id") or "")
        else:
            self.out.close(kind, start)

    def handle_data(self, data: str) -> None:
        for bad in "<&":
            if bad in data:
                index = data.index(bad)
                where = self.byte_pos() + len(data[:index].encode())
                raise ParseError(f"Unsupported start tag or entity at byte offset {where}")
        self.out.add(data)

    def handle_entityref(self, name: str) -> None:
        if name not in HTML_ENTITIES:
            raise ParseError(
                f'Unsupported HTML entity "&{name};" at byte offset {self.byte_pos()}'
            )
        self.out.add(HTML_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        if not 0 < code <= 0x10FFFF:
            raise ParseError(f"Invalid character reference at byte offset {self.byte_pos()}")
        self.out.add(chr(code))

    def handle_comment(self, data: str) -> None:
        raise ParseError(f"Unsupported start tag at byte offset {self.byte_pos()}")

    def handle_decl(self, decl: str) -> None:
        self.handle_comment(decl)

    def handle_pi(self, data: str) -> None:
        self.handle_comment(data)

    def unknown_decl(self, data: str) -> None:
        self.handle_comment(data)

    def finish(self) -> tuple[str, list[Entity]]:
        self.close()
        if self.stack:
            raise ParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            )
        return self.out.result()


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of an HTML-formatted message, or ParseError."""
    if "<" not in text and "&" not in text:
        return text, []  # the common case, and the benchmark's hot path
    bare = AMPERSAND.search(TAG.sub(lambda tag: " " * len(tag.group()), text))
    if bare:
        offset = len(text[: bare.start()].encode())
        raise ParseError(f"Character '&' must be escaped as &amp; at byte offset {offset}")
    checker = _HtmlChecker(text)
    checker.feed(text)
    return checker.finish()


class _MarkdownV2:
    """A single pass over MarkdownV2 text, keeping a stack of open entities."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.out = _Builder(text)
        self.stack: list[tuple[str, int, int]] = []
        self.i = 0

    def run(self) -> tuple[str, list[Entity]]:
        while self.i < len(self.text):
            self.step()
        if self.stack:
            kind, _, byte = self.stack[-1]
            raise ParseError(f"Can't find end of {MDV2_NAMES[kind]} entity at byte offset {byte}")
        return self.out.result()

    def toggle(self, kind: str, width: int) -> None:
        open_kinds = [entry[0] for entry in self.stack]
        if kind in open_kinds:
            _, start, _ = self.stack.pop(len(open_kinds) - 1 - open_kinds[::-1].index(kind))
            self.out.close(kind, start)
        else:
            self.stack.append((kind, self.out.position, self.out.byte_offset(self.i)))
        self.i += width

    def in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1][0] in ("code", "pre")

    def step(self) -> None:
        text, i = self.text, self.i
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) < 127:
            self.out.add(text[i + 1])
            self.i += 2
        elif self.in_code():
            self.step_code(ch)
        elif ch == ">" and (i == 0 or text[i - 1] == "\n"):
            self.step_quote()
        elif ch == "\n" and self.stack and self.stack[-1][0] == "blockquote":
            self.end_quote_line()
        elif ch in "*~" or text.startswith("||", i) or ch == "_":
            self.step_marker(ch)
        elif ch == "`":
            self.toggle("pre", 3) if text.startswith("```", i) else self.toggle("code", 1)
        elif ch == "[" or text.startswith("![", i):
            self.toggle("custom_emoji" if ch == "!" else "text_link", 2 if ch == "!" else 1)
        elif ch == "]":
            self.step_link_end()
        elif ch in MDV2_RESERVED:
            raise ParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            self.out.add(ch)
            self.i += 1

    def step_code(self, ch: str) -> None:
        if self.stack[-1][0] == "pre" and self.text.startswith("```", self.i):
            self.toggle("pre", 3)
        elif self.stack[-1][0] == "code" and ch == "`":
            self.toggle("code", 1)
        else:
            self.out.add(ch)
            self.i += 1

    def step_marker(self, ch: str) -> None:
        if self.text.startswith("||", self.i):
            self.toggle("spoiler", 2)
        elif self.text.startswith("__", self.i):
            self.toggle("underline", 2)
        else:
            self.toggle({"*": "bold", "_": "italic", "~": "strikethrough"}[ch], 1)

    def step_quote(self) -> None:
        if not (self.stack and self.stack[-1][0] == "blockquote"):
            self.stack.append(("blockquote", self.out.position, self.out.byte_offset(self.i)))
        self.i += 1

    def end_quote_line(self) -> None:
        if not self.text.startswith(">", self.i + 1):
            self.toggle("blockquote", 0)
        self.out.add("\n")
        self.i += 1

    def step_link_end(self) -> None:
        if not self.stack or self.stack[-1][0] not in ("text_link", "custom_emoji"):
            raise ParseError(
                "Character ']' is reserved and must be escaped with the preceding '\\'"
            )
        end = self.text.find(")", self.i)
        while end > 0 and self.text[end - 1] == "\\":
            end = self.text.find(")", end + 1)
        if not self.text.startswith("(", self.i + 1) or end < 0:
            kind = MDV2_NAMES[self.stack[-1][0]]
            raise ParseError(
                f"Can't find end of a URL for {kind} entity at byte offset "
                f"{self.out.byte_offset(self.i)}"
            )
        kind, start, _ = self.stack.pop()
        url = self.text[self.i + 2 : end].replace("\\)", ")").replace("\\\\", "\\")
        extra = {"url": url} if kind == "text_link" else {"custom_emoji_id": url.split("=")[-1]}
        self.out.close(kind, start, **extra)
        self.i = end + 1


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of a MarkdownV2 message, or ParseError."""
    if text.startswith("**>"):
        text = text[2:]
    return _MarkdownV2(text).run()


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of a legacy Markdown message, or ParseError."""
    out = _Builder(text)
    markers = {"*": "bold", "_": "italic", "`": "code"}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
        elif ch in markers or ch == "[":
            i = _markdown_entity(text, i, out, markers)
        else:
            out.add(ch)
            i += 1
    return out.result()


def _markdown_entity(text: str, i: int, out: _Builder, markers: dict[str, str]) -> int:
    closer, width = (
        ("```", 3) if text.startswith("```", i) else ("]" if text[i] == "[" else text[i], 1)
    )
    end = text.find(closer, i + width)
    if end < 0:
        raise ParseError(
            f"Can't find end of the entity starting at byte offset {out.byte_offset(i)}"
        )
    start = out.position
    out.add(text[i + width : end])
    if closer == "]":
        url_end = text.find(")", end)
        if not text.startswith("(", end + 1) or url_end < 0:
            raise ParseError(
                f"Can't find end of the entity starting at byte offset {out.byte_offset(i)}"
            )
        out.close("text_link", start, url=text[end + 2 : url_end])
        return url_end + 1
    out.close("pre" if width == 3 else markers[closer], start)
    return end + width


def parse_text(
    text: str, parse_mode: str | None, entities: str | list[Entity] | None = None
) -> tuple[str, list[Entity]]:
    """Plain text and entities as Telegram stores them, whitespace at both ends trimmed."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        plain, found = parse_html(text)
    elif mode == "markdownv2":
        plain, found = parse_markdown_v2(text)
    elif mode == "markdown":
        plain, found = parse_markdown(text)
    elif mode:
        raise ParseError(
            f"Unsupported parse_mode {parse_mode!r}"
        )  # real text: "unsupported parse_mode"
    else:
        plain = text
        found = json.loads(entities) if isinstance(entities, str) else list(entities or [])
    return _trim(plain, found)


def _trim(plain: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    # Telegram strips surrounding whitespace and moves the entities with the text.
    stripped = plain.strip()
    if stripped == plain:
        return plain, entities
    shift = utf16_len(plain[: len(plain) - len(plain.lstrip())])
    size = utf16_len(stripped)
    moved = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            moved.append({**entity, "offset": start, "length": end - start})
    return stripped, moved
