"""Templated step fields: `Onboard new customer: {customer_email}`, `{jira.issue.key}`.

A placeholder names a trigger value (`{customer_email}`) or an earlier step's output
(`{step.output}`); `{{` and `}}` are literal braces. A value that is missing never becomes a
blank in a message: rendering says which placeholder had nothing to fill it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

PLACEHOLDER_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_TOKEN = re.compile(r"\{\{|\}\}|\{(" + PLACEHOLDER_NAME + r")\}|[{}]")
MAX_VALUE_CHARS = 2000
"""Characters of one filled-in value; longer values (hostile payloads) are cut."""


class TemplateSyntaxError(ValueError):
    """A template with a brace that opens or closes no placeholder."""


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholder names, in order."""

    text: str
    parts: tuple[tuple[bool, str], ...]
    """(is_placeholder, literal text or placeholder name)."""

    @property
    def names(self) -> tuple[str, ...]:
        """The placeholder names, in order of first use."""
        return tuple(dict.fromkeys(name for is_name, name in self.parts if is_name))


@dataclass(frozen=True)
class Rendered:
    """A filled-in template, or the placeholders that had no value."""

    text: str | None
    missing: tuple[str, ...]


@lru_cache(maxsize=512)
def parse_template(text: str) -> Template:
    """Parse `text`; raise TemplateSyntaxError for a lone `{` or `}` or a malformed name."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            parts.append((False, text[position : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append((False, token[0]))
        elif match.group(1) is not None:
            parts.append((True, match.group(1)))
        else:
            raise TemplateSyntaxError(
                f"a lone {token!r} at character {match.start() + 1}: write a placeholder such as "
                "{customer_email}, or double the brace for a literal one"
            )
        position = match.end()
    if position < len(text):
        parts.append((False, text[position:]))
    return Template(text=text, parts=tuple(parts))


def render(template: Template, values: Mapping[str, Any], unknown: frozenset[str]) -> Rendered:
    """Fill `template` from `values` (dotted names as flat keys).

    A name in `unknown` (a value a dry run could not know) stays as its `{placeholder}`; any
    other name without a text, number or boolean value is reported in `missing`.
    """
    pieces: list[str] = []
    missing: list[str] = []
    for is_name, part in template.parts:
        if not is_name:
            pieces.append(part)
            continue
        value = values.get(part)
        text = _text(value)
        if text is None:
            if part in unknown:
                pieces.append("{" + part + "}")
            else:
                missing.append(part)
            continue
        pieces.append(text)
    if missing:
        return Rendered(text=None, missing=tuple(dict.fromkeys(missing)))
    return Rendered(text="".join(pieces), missing=())


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value[:MAX_VALUE_CHARS]
    return None
