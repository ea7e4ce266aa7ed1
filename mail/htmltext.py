"""Plain text from an HTML mail body: line breaks kept, scripts and styles dropped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_BREAKS = frozenset({"br", "hr"})
_BLOCKS = frozenset(
    {
        "p", "div", "table", "ul", "ol", "blockquote", "pre", "section",
        "article", "header", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd",
    }
)  # fmt: skip
_ROWS = frozenset({"li", "tr"})
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\f\v\r\n\xa0]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    """Collects visible text, turning block structure into line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skipping: list[str] = []
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            # An unclosed <head> must not swallow the whole body.
            self._skipping = [name for name in self._skipping if name != "head"]
        if tag in _SKIPPED:
            self._skipping.append(tag)
        elif tag == "pre":
            self._pre_depth += 1
        self._mark(tag, opening=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._mark(tag, opening=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            last = len(self._skipping) - 1 - self._skipping[::-1].index(tag)
            del self._skipping[last:]
        elif tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        self._mark(tag, opening=False)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._pre_depth:
            self.pieces.append(data.replace("\r\n", "\n"))
            return
        self.pieces.append(_SPACES.sub(" ", data))

    def _mark(self, tag: str, *, opening: bool) -> None:
        if self._skipping:
            return
        if tag in _BREAKS and opening:
            self.pieces.append("\n")
        elif tag in _ROWS:
            # Rows and items only open a line, so a list does not turn double-spaced.
            if opening:
                self.pieces.append("\n- " if tag == "li" else "\n")
        elif tag in _BLOCKS:
            self.pieces.append("\n")
        elif tag in _CELLS and opening:
            self.pieces.append(" ")


def html_to_text(html: str) -> str:
    """Return the visible text of `html`, one line per block, entities unescaped."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()

    lines = (line.strip(" \t") for line in "".join(collector.pieces).split("\n"))
    text = "\n".join(lines)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")
