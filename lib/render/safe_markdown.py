"""Data meets markdown only through here: text is shown literally, links only to http(s) URLs.

No Streamlit import: these are pure string functions, so the rules are unit-testable.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

# CommonMark lets a backslash escape any ASCII punctuation; escaping all of it also stops
# Streamlit's directives (`:red[...]`, `:material/x:`), LaTeX (`$`), HTML (`<`, `&`) and the
# GFM autolinks of bare URLs, e-mail addresses and `www.` hosts (their `:`, `@` and `.` break).
_ASCII_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
# Line breaks and other control characters would start new blocks (headings, lists, tables).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
MAX_URL_LENGTH = 2048
_HOST_PORT = re.compile(
    r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)


def escape_markdown(text: object) -> str:
    """`text` as one line that st.markdown shows literally: no formatting, link, image or HTML."""
    flat = _CONTROL.sub(" ", str(text))
    return _ASCII_PUNCTUATION.sub(r"\\\1", flat)


def http_url(value: object) -> str | None:
    """`value` as a safe absolute http(s) URL, or None when it is anything else.

    The result has no spaces, quotes, brackets or control characters (they are percent-encoded),
    so it can be handed to a link column or `st.link_button` without breaking out of anything.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return None
    if _CONTROL.search(value):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if not _HOST_PORT.match(parts.netloc):
        return None  # also refuses user:password@ and anything that is not a plain host
    safe = "/%:@!$&'*+,;=-._~"
    return urlunsplit(
        (
            parts.scheme.lower(),
            parts.netloc,
            quote(parts.path, safe=safe.replace("'", "")),
            quote(parts.query, safe=safe.replace("'", "") + "?"),
            quote(parts.fragment, safe=safe.replace("'", "") + "?"),
        )
    )


def link_markdown(text: object, url: object) -> str:
    """A markdown link showing `text` literally and pointing at `url`; just the text when the URL
    is not a safe http(s) URL. Parentheses in the URL are percent-encoded so it cannot end early."""
    label = escape_markdown(text) or "link"
    safe = http_url(url)
    if safe is None:
        return label
    return f"[{label}]({safe.replace('(', '%28').replace(')', '%29')})"
