"""The one helper for data in markdown: hostile text is shown literally and never becomes a link,
image, directive or block; links go only to validated http(s) URLs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.render.safe_markdown import (
    badge_label,
    badge_markdown,
    code_markdown,
    escape_markdown,
    link_markdown,
)
from lib.safe_url import MAX_URL_LENGTH, http_url
from tests.markdown_links import link_targets, links_to, visible_text

EVIL = "evil.example"
CONTROL_RUNS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
HOSTILE_TEXT = [
    "`code` and ``double`` and a lone ` backtick",
    "[Your session expired - sign in again](https://evil.example/login)",
    "![beacon](http://evil.example/pixel.png)",
    '<img src="https://evil.example/pixel.png">',
    "<a href='https://evil.example'>click</a> <script>alert(1)</script> &amp; &#x3C;",
    "<https://evil.example/autolink>",
    "Visit https://evil.example/login today",
    "Visit HTTPS://EVIL.EXAMPLE/login today",
    "Visit www.evil.example now",
    "(www.evil.example)",
    "Write to support@evil.example or mailto:ceo@evil.example",
    "x_sk@evil.example.",
    "javascript:alert(document.cookie)",
    "$x^2$ and $$\\int$$ cost $5",
    ":red[alarm] :blue-background[x] :material/warning: :small[tiny] :help[tip]",
    ":red-badge[fake badge]",
    "**bold** _italic_ ~~strike~~ *em* __strong__",
    "[ref]: https://evil.example/ref",
    "a | table | row",
    "1. numbered",
    "  - bullet after spaces",
    "> quoted",
    "=== and --- and ***",
    "trailing backslash \\",
    "\\[escaped] already",
    '[text](https://ok.example "title")',
]
MULTI_LINE = [
    "first line\n# A heading",
    "line\n- a list item\n* another",
    "line\r\n1) numbered\r\n",
    "line\u2028## unicode line separator",
    "tab\tseparated\x0bvertical\x0cfeed\x85next line",
    "setext\n===",
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_text_is_shown_literally_without_any_link_or_image(text: str) -> None:
    escaped = escape_markdown(text)

    assert link_targets(escaped) == []
    assert visible_text(escaped) == text


@pytest.mark.parametrize("text", MULTI_LINE)
def test_line_breaks_cannot_start_a_heading_list_or_block(text: str) -> None:
    escaped = escape_markdown(text)

    assert "\n" not in escaped and "\r" not in escaped and "\u2028" not in escaped
    for marker in ("# ", "## ", "- ", "* ", "1) ", "==="):
        if marker in text:
            assert f"\\{marker[0]}" in escaped or marker[0].isdigit()
    assert link_targets(escaped) == []


def test_markdown_characters_are_backslash_escaped() -> None:
    assert escape_markdown("**$5** :red[x] <b>") == "\\*\\*\\$5\\*\\* \\:red\\[x\\] \\<b\\>"
    assert escape_markdown(":material/warning:") == "\\:material\\/warning\\:"
    assert escape_markdown("# title") == "\\# title"


def test_a_word_that_gfm_would_autolink_becomes_inline_code() -> None:
    assert escape_markdown("mail ana@example.com now") == "mail `ana@example.com` now"
    assert escape_markdown("see https://evil.example/x.") == "see `https://evil.example/x.`"
    assert escape_markdown("WWW.evil.example") == "`WWW.evil.example`"
    assert escape_markdown("no link here.") == "no link here\\."


def test_non_text_values_are_written_as_their_text() -> None:
    assert escape_markdown(None) == "None"
    assert escape_markdown(12.5) == "12\\.5"


@given(st.text(max_size=200))
def test_no_text_ever_escapes_into_a_link_or_loses_a_character(text: str) -> None:
    escaped = escape_markdown(text)

    assert link_targets(escaped) == []
    assert "\n" not in escaped and "\r" not in escaped
    assert visible_text(escaped) == CONTROL_RUNS.sub(" ", text)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("``x``", "``` ``x`` ```"),
        ("`start", "`` `start ``"),
        (" padded ", "`  padded  `"),
        ("", ""),
        ("line\nbreak", "`line break`"),
        ("ends in a backslash\\", "`ends in a backslash\\`"),
    ],
)
def test_code_spans_hold_any_backticks_literally(text: str, span: str) -> None:
    assert code_markdown(text) == span
    assert visible_text(span) == text.replace("\n", " ")
    assert link_targets(f"before {span} after") == []


def test_a_code_span_keeps_a_url_from_becoming_a_link() -> None:
    span = code_markdown("[x](https://evil.example) https://evil.example")

    assert links_to(f"text {span} text", EVIL) == []


def test_badges_show_their_text_literally_in_a_known_colour() -> None:
    badge = badge_markdown("paid] [click](https://evil.example) :red[x", "green")

    assert badge.startswith(":green-badge[") and badge.endswith("]")
    assert links_to(badge, EVIL) == []
    assert badge.count("[") - badge.count("\\[") == 1  # only the directive's own bracket
    assert badge_markdown("ok", "red;color:red").startswith(":gray-badge[")
    assert badge_markdown("", "blue") == ":blue-badge[—]"
    assert "[" not in badge_label("Acme [test] ![x](https://evil.example/p.png)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://pay.stripe.com/receipts/ch_1", "https://pay.stripe.com/receipts/ch_1"),
        ("HTTPS://Example.COM/a", "https://Example.COM/a"),
        ("http://127.0.0.1:8501/x?y=1#z", "http://127.0.0.1:8501/x?y=1#z"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("  https://ok.example/a  ", "https://ok.example/a"),
        ("https://ok.example/a b", "https://ok.example/a%20b"),
        ("https://ok.example/a)b(c", "https://ok.example/a%29b%28c"),
        ("https://ok.example/\"q'", "https://ok.example/%22q%27"),
        ("https://ok.example/<x>[y]\\z", "https://ok.example/%3Cx%3E%5By%5D%5Cz"),
        ("https://ok.example/é", "https://ok.example/%C3%A9"),
    ],
)
def test_http_urls_are_kept_with_unsafe_characters_percent_encoded(
    value: str, expected: str
) -> None:
    assert http_url(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "mailto:ana@example.com",
        "file:///etc/passwd",
        "ftp://ok.example/x",
        "//evil.example/x",
        "/relative/path",
        "evil.example",
        "https://user:pass@evil.example/",
        "https://ok.example@evil.example/",
        "https://good.example\\@evil.example/",
        "https://ok.example:/",
        "https://ok example/",
        "https://évil.example/",
        "https://evil.example/\nSet-Cookie: x",
        "https://evil.example/\x00",
        "https:evil.example",
        "https:///evil.example",
        "https://[::1/",
        "https://" + "a" * MAX_URL_LENGTH,
        "",
        None,
        42,
    ],
)
def test_anything_but_a_plain_http_url_is_refused(value: object) -> None:
    assert http_url(value) is None


def test_a_link_shows_its_text_literally_and_goes_to_the_url_only() -> None:
    markdown = link_markdown(
        "Receipt](https://evil.example) ![x](https://evil.example/p.png",
        ("https://ok.example/r?a=1) [click](https://evil.example"),
    )

    assert link_targets(markdown) == [
        "https://ok.example/r?a=1%29%20%5Bclick%5D%28https://evil.example"
    ]
    assert links_to(markdown, EVIL) == []
    assert visible_text(markdown.split("](https://ok")[0][1:]) == (
        "Receipt](https://evil.example) ![x](https://evil.example/p.png"
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://evil.example)", "www.evil.example", "data:,x", None]
)
def test_a_link_to_anything_but_an_http_url_is_plain_text(url: object) -> None:
    markdown = link_markdown("Receipt", url)

    assert markdown == "Receipt"
    assert link_targets(markdown) == []


def test_a_url_with_parentheses_and_spaces_cannot_end_its_link_early() -> None:
    markdown = link_markdown("Receipt", "https://ok.example/a) (b ![x](https://evil.example/p)")

    assert link_targets(markdown) == [
        "https://ok.example/a%29%20%28b%20!%5Bx%5D%28https://evil.example/p%29"
    ]
    assert links_to(markdown, EVIL) == []


def test_a_link_without_text_still_has_a_label() -> None:
    assert link_markdown("", "https://ok.example/") == "[link](https://ok.example/)"
