"""Reading markdown the way Streamlit's renderer (CommonMark + GFM) finds links in it.

`link_targets` is deliberately generous: anything that could become a link, image, autolink or
raw HTML tag is reported, so a test asserting that no target points at a host is strict.
Code spans are literal and backslash escapes are honoured, as in CommonMark; GFM's literal
autolinks (bare `http(s)://`, `www.` and e-mail addresses) are searched in the text after
escapes are resolved, which is what GFM does. The real renderer is checked by
`tests/test_browser_e2e.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_PUNCTUATION = set("""!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~""")
# The patterns of mdast-util-gfm-autolink-literal, which Streamlit's markdown uses.
_GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.IGNORECASE)
_GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")


@dataclass(frozen=True)
class Char:
    """One character of the source as the parser sees it."""

    value: str
    escaped: bool


def split_code(markdown: str) -> tuple[list[list[Char]], list[str]]:
    """The text outside code spans (as parsed characters) and the code spans' contents.

    As in CommonMark: an unescaped run of backticks opens a code span closed by the next run of
    the same length; inside it a backslash is a plain character.
    """
    texts: list[list[Char]] = [[]]
    codes: list[str] = []
    index = 0
    while index < len(markdown):
        char = markdown[index]
        if char == "\\" and index + 1 < len(markdown) and markdown[index + 1] in _PUNCTUATION:
            texts[-1].append(Char(markdown[index + 1], True))
            index += 2
            continue
        if char != "`":
            texts[-1].append(Char(char, False))
            index += 1
            continue
        run = len(markdown[index:]) - len(markdown[index:].lstrip("`"))
        closing = _closing_run(markdown, index + run, run)
        if closing is None:
            texts[-1].extend(Char("`", False) for _ in range(run))
            index += run
            continue
        content = markdown[index + run : closing]
        if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
            content = content[1:-1]
        codes.append(content)
        texts.append([])
        index = closing + run
    return texts, codes


def _closing_run(markdown: str, start: int, length: int) -> int | None:
    for match in re.finditer(r"`+", markdown[start:]):
        if len(match.group()) == length:
            return start + match.start()
    return None


def link_targets(markdown: str) -> list[str]:
    """Every URL or tag in `markdown` that could render as a link, image or HTML element."""
    texts, _codes = split_code(markdown)
    targets: list[str] = []
    for chars in texts:
        plain = ""
        index = 0
        while index < len(chars):
            char = chars[index]
            following = chars[index + 1] if index + 1 < len(chars) else None
            live = not char.escaped and following is not None and not following.escaped
            rest = "".join(c.value for c in chars[index + 2 :])
            if live and char.value == "]" and following.value == "(":
                # [text](target) or ![alt](src): the target is not text GFM searches
                destination = rest.split(")")[0]
                targets.append(destination.strip(" <>").split(" ")[0])
                plain += "]"
                index += 2 + len(destination) + 1
                continue
            if live and char.value == "]" and following.value == ":":
                targets.append(rest.strip().split(" ")[0])  # a reference definition [id]: target
            elif (
                live
                and char.value == "<"
                and (following.value.isalpha() or following.value in "/!?")
            ):
                targets.append(following.value + rest.split(">")[0])  # autolink or raw HTML
            plain += char.value
            index += 1
        targets += ["".join(match.groups()) for match in _GFM_URL.finditer(plain)]
        targets += [f"mailto:{match.group(0)}" for match in _GFM_EMAIL.finditer(plain)]
    return targets


def visible_text(markdown: str) -> str:
    """The characters a person reads: escapes resolved, code span contents as they are."""
    texts, codes = split_code(markdown)
    shown = "".join(c.value for c in texts[0])
    for code, chars in zip(codes, texts[1:], strict=True):
        shown += code + "".join(c.value for c in chars)
    return shown


def host_of(target: str) -> str:
    """The host a link target leads to, lower-case ("" when it names none)."""
    lowered = target.strip().lower()
    if lowered.startswith("mailto:"):
        return lowered.rsplit("@", 1)[-1]
    if lowered.startswith("www."):
        lowered = "http://" + lowered
    try:
        return urlsplit(lowered).hostname or ""
    except ValueError:
        return ""


def links_to(markdown: str, host: str) -> list[str]:
    """The targets in `markdown` that would lead a browser to `host` or a subdomain of it; raw
    HTML that names the host counts too (an `<img src=...>` would load from it)."""
    host = host.lower()
    found = []
    for target in link_targets(markdown):
        leads = host_of(target)
        if leads == host or leads.endswith("." + host):
            found.append(target)
        elif target[:1].isalpha() and ":" not in target.split(" ")[0] and host in target.lower():
            found.append(target)  # a raw tag such as `img src=https://host/x.png`
    return found
