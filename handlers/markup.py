"""Building message text in Telegram's HTML subset with every person's words escaped."""

from __future__ import annotations

import html
import re

from markupsafe import Markup, escape

_TAG = re.compile(r"<[^>]+>")


def fmt(template: str, *args: object, **kwargs: object) -> str:
    """Fill `template` (trusted HTML) with values that are escaped on the way in."""
    return str(Markup(template).format(*args, **kwargs))


def esc(value: object) -> str:
    """Escape one value for HTML."""
    return str(escape(str(value)))


def bold(value: object) -> str:
    """A value in bold, escaped."""
    return fmt("<b>{}</b>", value)


def to_plain(markup: str) -> str:
    """What the reader sees: tags dropped and entities turned back into characters."""
    return html.unescape(_TAG.sub("", markup))


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters on a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(maxsplit=1)[0] if " " in text[:limit] else text[: limit - 1]
    return cut + "…"
