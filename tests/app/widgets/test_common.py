"""app.widgets.common.literal: names from users and files render as the very text, never as markup
(checked with markdown-it, a CommonMark renderer), and ordinary messages stay readable."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from app.widgets.common import literal

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

HOSTILE = [
    "![t](http://203.0.113.7/t.png)",
    "[p](http://203.0.113.7/p)",
    "<img src=http://203.0.113.7/i.png>",
    "a -> b > c",
    "<b>x</b>",
    "**bold** :material/bolt: <b>x</b>.png",
    ":red[x] :smile:",
    "_x_",
    "__init__",
    "a*b*c",
    "# head",
    "- item",
    "1. one",
    "2) two",
    "+ x",
    "> q",
    "a | b\n--|--\n1|2",
    "~~s~~",
    "$x^2$",
    "&lt;&amp;",
    "`code`",
    "C:\\path\\x",
    "x\n===",
    "[^1]",
    "é_x_é",
]


def rendered(markdown: str) -> tuple[str, list[str]]:
    """(the text a reader sees, the HTML tags other than paragraphs and line breaks)."""
    out = MD.render(markdown)
    tags = re.findall(r"<(?!/?p>|br />)/?[a-z]+", out)
    text = html.unescape(re.sub(r"<br />\n?", "\n", re.sub(r"</?p>\n?", "", out))).strip()
    return text, tags


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_renders_as_the_same_text_without_markup(name: str) -> None:
    text, tags = rendered(literal(name))
    assert tags == [] and text == name


@pytest.mark.parametrize(
    "message",
    ["Imported into faces: 17 new file(s) (with_mask: 8).", "no_mask", "a_b_c", "Run 20261207-1 · lenet"],
)
def test_ordinary_text_is_left_as_it_is(message: str) -> None:
    assert literal(message) == message
    assert rendered(message)[0] == message
