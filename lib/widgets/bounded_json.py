"""Widget JSON read within bounds: size, nesting depth and number size are checked first.

`json.loads` recurses once per nesting level (a file nested 100,000 deep raises
RecursionError) and hands every integer to `int()` (5,000 digits exceed Python's
int-from-str limit, and converting a long one costs time), so neither is asked to do that:
nesting is measured on the raw text, and numbers past the limits are kept as text and
reported with their JSON path instead of being converted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_TEXT_CHARS = 524_288
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40
MAX_PROBLEMS = 20
INT64_MAX = 2**63 - 1

Location = tuple[str | int, ...]
# A string token runs to its closing quote or the end of the text: one pass, never a rescan.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.?)*+(?:"|\Z)|[\[\]{}:,]', re.DOTALL)


class JsonLimitError(ValueError):
    """JSON beyond the bounds; `problems` are (JSON path, message) pairs in document order."""

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


@dataclass(frozen=True)
class _UnconvertedNumber:
    """A number literal left as text because it is past the limits."""

    text: str


def load_bounded_json(
    text: str,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """`json.loads(text)` after checking size and nesting; numbers past the limits are refused.

    Raises JsonLimitError (with JSON paths) for text over MAX_TEXT_CHARS characters, nesting
    deeper than MAX_DEPTH, a number literal longer than MAX_NUMBER_CHARS, a whole number
    outside int64 or a float that overflows; json.JSONDecodeError for invalid JSON.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise JsonLimitError([((), f"too large: more than {MAX_TEXT_CHARS:,} characters")])
    too_deep = _first_too_deep(text)
    if too_deep is not None:
        raise JsonLimitError([(too_deep, _DEPTH_MESSAGE)])
    numbers = _NumberParser()
    data = json.loads(
        text,
        object_pairs_hook=object_pairs_hook,
        parse_constant=parse_constant,
        parse_int=numbers.parse_int,
        parse_float=numbers.parse_float,
    )
    # Nesting is already known to be fine, so only a refused number is worth a walk for paths.
    if numbers.refused:
        raise JsonLimitError(value_limit_problems(data))
    return data


def value_limit_problems(data: Any) -> list[tuple[Location, str]]:
    """Where already-parsed JSON is nested too deep or holds a number past the limits.

    Walks without recursion and reports at most MAX_PROBLEMS places.
    """
    problems: list[tuple[Location, str]] = []
    pending: list[tuple[Location, Any]] = [((), data)]
    while pending and len(problems) < MAX_PROBLEMS:
        location, value = pending.pop()
        if isinstance(value, dict | list):
            if len(location) >= MAX_DEPTH:
                problems.append((location, _DEPTH_MESSAGE))
                continue
            children = value.items() if isinstance(value, dict) else enumerate(value)
            pending.extend(((*location, key), child) for key, child in reversed(list(children)))
        else:
            message = _number_problem(value)
            if message is not None:
                problems.append((location, message))
    return problems


_DEPTH_MESSAGE = f"nested more than {MAX_DEPTH} levels deep; flatten this value"
_NUMBER_RULE = (
    f"use a finite number of at most {MAX_NUMBER_CHARS} characters "
    f"(whole numbers within ±{INT64_MAX:,})"
)


def _number_problem(value: Any) -> str | None:
    if isinstance(value, _UnconvertedNumber):
        text = value.text
        shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text):,} characters)"
        return f"number {shown} is out of range; {_NUMBER_RULE}"
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not -INT64_MAX <= value <= INT64_MAX:
        return f"number is out of range; {_NUMBER_RULE}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"number is out of range; {_NUMBER_RULE}"
    return None


class _NumberParser:
    """json.loads number hooks that keep out-of-range literals as text, and remember any."""

    def __init__(self) -> None:
        self.refused = False

    def parse_int(self, text: str) -> int | _UnconvertedNumber:
        if len(text) <= MAX_NUMBER_CHARS:
            number = int(text)
            if -INT64_MAX <= number <= INT64_MAX:
                return number
        self.refused = True
        return _UnconvertedNumber(text)

    def parse_float(self, text: str) -> float | _UnconvertedNumber:
        if len(text) <= MAX_NUMBER_CHARS:
            number = float(text)
            if math.isfinite(number):
                return number
        self.refused = True
        return _UnconvertedNumber(text)


def _first_too_deep(text: str) -> Location | None:
    # Per open container: the key being read (None before its ':') or the current index.
    stack: list[list[Any]] = []
    last_string = ""
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            if len(stack) == MAX_DEPTH:
                return tuple(_decoded(frame[0]) for frame in stack if frame[0] is not None)
            stack.append([0] if token == "[" else [None])
        elif token in ("]", "}"):
            if stack:
                stack.pop()
        elif token == ",":
            if stack and isinstance(stack[-1][0], int):
                stack[-1][0] += 1
        elif token == ":":
            if stack:
                stack[-1][0] = last_string
        else:
            last_string = token
    return None


def _decoded(part: Any) -> str | int:
    if isinstance(part, int):
        return part
    try:
        key = json.loads(part)
    except ValueError:
        key = part
    return key if isinstance(key, str) else str(key)
