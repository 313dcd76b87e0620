"""Which URLs from data may become links: absolute http(s) URLs to a plain host, percent-encoded.

Streamlit-free, below every package that shows or follows a URL (`lib.render`, `lib.app_address`).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HOST_PORT = re.compile(
    r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)
# Characters left as they are in a URL's path, query and fragment; everything else (spaces,
# quotes, brackets, parentheses, backslashes, non-ASCII) is percent-encoded.
_URL_SAFE = "/%:@!$&*+,;=-._~"


def http_url(value: object) -> str | None:
    """`value` as a safe absolute http(s) URL, or None when it is anything else.

    Refused: other schemes (`javascript:`, `data:`, `mailto:`...), relative URLs, user:password@
    or any host that is not a plain name, IP address or [IPv6] with an optional port, control
    characters, and more than MAX_URL_LENGTH characters. The result has no spaces, quotes,
    brackets, parentheses or non-ASCII characters (they are percent-encoded), so it can be
    handed to a link column, `st.link_button` or `link_markdown` without breaking out.
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
    return urlunsplit(
        (
            parts.scheme.lower(),
            parts.netloc,
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE + "?"),
            quote(parts.fragment, safe=_URL_SAFE + "?"),
        )
    )
