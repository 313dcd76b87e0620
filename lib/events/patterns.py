"""Event-name patterns: exact, `*`, `stripe.*` (any depth below) and `stripe.*.failed`."""

from __future__ import annotations

import re
from functools import lru_cache

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


class InvalidPatternError(ValueError):
    """A subscription pattern that cannot match anything sensible."""


class InvalidEventNameError(ValueError):
    """An event name that is not dot-separated words."""


def validate_event_name(name: str) -> None:
    """Raise InvalidEventNameError unless `name` is dot-separated words."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidEventNameError(
            f"invalid event name {name!r}: use dot-separated words of letters, digits, '_' or '-'"
        )


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a pattern; raise InvalidPatternError with the reason when it is malformed.

    `*` alone matches every event; a trailing `*` segment matches one or more segments;
    a `*` segment elsewhere matches exactly one segment.
    """
    if not isinstance(pattern, str) or not pattern:
        raise InvalidPatternError("empty pattern: use an event name, '*', or e.g. 'stripe.*'")
    if pattern == "*":
        return re.compile(r"^.+$")
    segments = pattern.split(".")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "*":
            parts.append(r"[^.]+(\.[^.]+)*" if last else r"[^.]+")
        elif _SEGMENT.match(segment):
            parts.append(re.escape(segment))
        else:
            raise InvalidPatternError(
                f"invalid pattern {pattern!r}: segment {index + 1} ({segment!r}) must be '*' "
                "or letters, digits, '_' or '-'"
            )
    return re.compile("^" + r"\.".join(parts) + "$")


def validate_pattern(pattern: str) -> None:
    """Raise InvalidPatternError when `pattern` is malformed."""
    compile_pattern(pattern)


def pattern_matches(pattern: str, name: str) -> bool:
    """True when the event `name` matches `pattern`."""
    return compile_pattern(pattern).match(name) is not None


def patterns_overlap(first: str, second: str) -> bool:
    """True when some event name matches both patterns (an exact name is a pattern too).

    Raises InvalidPatternError when either is malformed.
    """
    validate_pattern(first)
    validate_pattern(second)
    return _segments_overlap(tuple(first.split(".")), tuple(second.split(".")))


def _segments_overlap(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    if not first or not second:
        return not first and not second
    # A trailing `*` takes one or more segments, so it meets whatever is left on the other side.
    if (first[0] == "*" and len(first) == 1) or (second[0] == "*" and len(second) == 1):
        return True
    if "*" not in (first[0], second[0]) and first[0] != second[0]:
        return False
    return _segments_overlap(first[1:], second[1:])
