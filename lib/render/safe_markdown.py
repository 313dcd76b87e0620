"""Data meets markdown only through here: text is shown literally, links only to http(s) URLs.

Streamlit renders markdown in `st.markdown`, `st.caption`, alerts, toasts, metric labels and
values, expander, button, tab and widget labels, badges and tooltips, so any value from Stripe,
a connected account, a widget file or the URL passes through `escape_markdown` (or
`code_markdown`, `badge_markdown`, `badge_label`, `link_markdown`) before it reaches one of them.
Widget options of selectboxes and multiselects, dataframe cells and `st.json` are plain text and
take values as they are.

No Streamlit import: these are pure string functions, so the rules are unit-testable.
"""

from __future__ import annotations

import re

from lib.safe_url import http_url

# CommonMark lets a backslash escape any ASCII punctuation; escaping all of it also stops
# Streamlit's directives (`:red[...]`, `:material/x:`), LaTeX (`$`), HTML (`<`, `&`), emphasis,
# links and images.
_ASCII_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
# Line breaks and other control characters would start new blocks (headings, lists, tables).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# GFM turns bare URLs, `www.` hosts and e-mail addresses into links by searching the text
# AFTER escapes are resolved, so a word holding one is shown as inline code (never linked).
_LINKABLE = re.compile(r"@|://|www\.", re.IGNORECASE)
_WHITESPACE = re.compile(r"(\s+)")
_BACKTICKS = re.compile(r"`+")
BADGE_COLORS = frozenset(
    {"red", "orange", "yellow", "blue", "green", "violet", "gray", "grey", "primary"}
)


def escape_markdown(text: object) -> str:
    """`text` as one line that Streamlit's markdown shows literally: no formatting, heading, list,
    directive, icon, LaTeX, HTML, link, image or autolink.

    Every ASCII punctuation character is backslash-escaped; a whitespace-separated word holding
    `@`, `://` or `www.` (something GFM would link) becomes inline code instead. Emoji short
    codes such as `:smile:` may still show as their emoji (plain text, no link or request).
    """
    flat = _CONTROL.sub(" ", str(text))
    return "".join(_escape_word(word) for word in _WHITESPACE.split(flat))


def _escape_word(word: str) -> str:
    if _LINKABLE.search(word):
        return code_markdown(word)
    return _ASCII_PUNCTUATION.sub(r"\\\1", word)


def code_markdown(text: object) -> str:
    """`text` as one inline code span shown literally (monospace), whatever backticks it holds;
    "" for empty text."""
    flat = _CONTROL.sub(" ", str(text))
    if not flat:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(flat)), default=0) + 1)
    # CommonMark drops one space at each end when both ends have one; a backtick at an end
    # would join the fence. A space on each side keeps the text as it is in both cases.
    padded = flat.startswith(("`", " ")) or flat.endswith(("`", " "))
    space = " " if padded and flat.strip(" ") else ""
    return f"{fence}{space}{flat}{space}{fence}"


def badge_markdown(text: object, color: str) -> str:
    """A Streamlit badge (`:green-badge[...]`) showing `text` literally; an unknown colour is
    gray, empty text shows as a dash."""
    shade = color if color in BADGE_COLORS else "gray"
    return f":{shade}-badge[{badge_label(text) or '—'}]"


def badge_label(text: object) -> str:
    """`text` for a badge label shown literally, also for `st.badge`, which escapes square
    brackets itself: brackets become parentheses (a directive label must stay balanced)."""
    return escape_markdown(str(text).replace("[", "(").replace("]", ")"))


def link_markdown(text: object, url: object) -> str:
    """A markdown link showing `text` literally and pointing at `url`; just the escaped text when
    the URL is not a safe http(s) URL (see `http_url`)."""
    label = escape_markdown(text) or "link"
    safe = http_url(url)
    if safe is None:
        return label
    return f"[{label}]({safe})"
