"""Tests of mail.htmltext: visible text with its line structure."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mail.htmltext import html_to_text


def test_breaks_and_blocks_become_lines() -> None:
    html = "<div>one</div><p>two<br>three</p><div>four<br/>five</div>"

    assert html_to_text(html) == "one\n\ntwo\nthree\n\nfour\nfive"


def test_script_style_and_head_are_dropped() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head>"
        "<body><script>alert(1)</script><p>visible</p></body></html>"
    )

    assert html_to_text(html) == "visible"


def test_unclosed_head_does_not_hide_the_body() -> None:
    assert html_to_text("<head><title>T</title><body><p>body</p>") == "body"


def test_entities_unescaped_and_spaces_collapsed() -> None:
    assert html_to_text("a&nbsp;&amp;&lt;b&gt;  \n  c&#233;") == "a &<b> cé"


def test_lists_and_tables() -> None:
    html = "<ul><li>a</li><li>b</li></ul><table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr>"

    assert html_to_text(html) == "- a\n- b\n\n1 2\n3"


def test_pre_keeps_line_breaks() -> None:
    assert html_to_text("<pre>x = 1\ny = 2</pre>") == "x = 1\ny = 2"


def test_plain_text_passes_through() -> None:
    assert html_to_text("just text") == "just text"


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(list("<>/&;#abpr =\"'\n")) | st.characters()))
def test_any_markup_gives_text(html: str) -> None:
    assert isinstance(html_to_text(html), str)
