"""The value types of widget definitions: each checks one JSON value and says what is wrong.

A failed check raises a PydanticCustomError whose message names the value, what is allowed
and, where it helps, the likely intended value; pydantic adds the JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from difflib import get_close_matches
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from lib.events.catalogue import (
    CATALOGUE,
    SERVER_EVENTS,
    UI_EVENTS,
    catalogued_event,
    events_matching,
)
from lib.events.patterns import (
    InvalidEventNameError,
    InvalidPatternError,
    validate_event_name,
    validate_pattern,
)
from lib.widgets.colors import BADGE_COLORS, TAILWIND_COLORS, style_color
from lib.widgets.conditions import ConditionSyntaxError, parse_condition
from lib.widgets.time_tokens import is_time_token_like, time_token_problem

T = TypeVar("T")
Scalar = str | int | float | bool

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_$-]+")


def fail(kind: str, reason: str) -> NoReturn:
    """Refuse the value being validated: `reason` is the whole message shown."""
    # The reason goes in the context, so braces in user text are never read as a template.
    raise PydanticCustomError(kind, "{reason}", {"reason": reason})


def one_of(what: str, choices: tuple[Any, ...]) -> BeforeValidator:
    """A validator that accepts only one of `choices` and lists them all when refusing."""
    allowed = ", ".join(str(choice) for choice in choices)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or value not in choices:
            fail("not_allowed", f"unknown {what} {value!r}; allowed: {allowed}")
        return value

    return BeforeValidator(check)


def checked(check: Callable[[Any], None]) -> AfterValidator:
    """A validator that runs `check` (which calls `fail`) and keeps the value unchanged."""

    def run(value: T) -> T:
        check(value)
        return value

    return AfterValidator(run)


def _slug(value: str) -> None:
    if not _SLUG.fullmatch(value):
        fail(
            "slug",
            f"invalid type {value!r}: use lower-case words joined by '-', e.g. 'stripe-payments'",
        )


def _non_empty(value: str) -> None:
    if not value.strip():
        fail("empty", "must not be empty")


def _dotted_path(value: str) -> None:
    if not all(_PATH_SEGMENT.fullmatch(segment) for segment in value.split(".")):
        fail(
            "path",
            f"invalid path {value!r}: use names joined by '.', "
            "e.g. 'payment_method_details.card.brand'",
        )


def _endpoint(value: str) -> None:
    if not value.startswith("/") or value.startswith("//") or "://" in value:
        fail("endpoint", f"invalid endpoint {value!r}: use a path such as '/charges'")
    if value == "/v1" or value.startswith("/v1/"):
        fail(
            "endpoint",
            f"invalid endpoint {value!r}: the provider's base URL already ends in /v1; "
            f"use {value[3:] or '/'!r}",
        )
    if "?" in value or "#" in value or any(char.isspace() for char in value):
        fail("endpoint", f"invalid endpoint {value!r}: put query parameters in dataSource.params")
    if ".." in value.split("/"):
        fail("endpoint", f"invalid endpoint {value!r}: '..' is not allowed")


def _event_name(value: str) -> None:
    try:
        validate_event_name(value)
    except InvalidEventNameError as exc:
        fail("event_name", str(exc))


def _ui_event_name(value: str) -> None:
    _event_name(value)
    event = catalogued_event(value)
    if event is not None and event.origin == "browser":
        return
    published = ", ".join(event.name for event in UI_EVENTS)
    if event is not None:
        fail(
            "event_name",
            f"{value!r} is a server event ({event.description}); "
            f"a widget publishes a UI event: {published}",
        )
    fail(
        "event_name",
        f"unknown event {value!r}{_did_you_mean(value, (e.name for e in UI_EVENTS))}; "
        f"a widget publishes a UI event: {published}",
    )


def _pattern(value: str) -> None:
    try:
        validate_pattern(value)
    except InvalidPatternError as exc:
        fail("pattern", str(exc))
    if not events_matching(value):
        names = [event.name for event in CATALOGUE]
        fail(
            "pattern",
            f"pattern {value!r} matches no catalogued event{_did_you_mean(value, names)}; "
            f"UI events: {', '.join(e.name for e in UI_EVENTS)}; "
            f"server events: {', '.join(e.name for e in SERVER_EVENTS)}",
        )


def _did_you_mean(value: str, names: Iterable[str]) -> str:
    close = get_close_matches(value, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _condition(value: str) -> None:
    try:
        parse_condition(value)
    except ConditionSyntaxError as exc:
        fail("condition", f"invalid condition {value!r}: {exc}")


def _style_class(value: str) -> None:
    if style_color(value) is None:
        fail(
            "style",
            f"unknown style {value!r}; use a colour ({', '.join(BADGE_COLORS)}) or Tailwind "
            f"classes such as 'bg-green-100 text-green-800' in: {', '.join(TAILWIND_COLORS)}",
        )


def _time_tokens(value: Any) -> None:
    for item in value if isinstance(value, list) else [value]:
        problem = time_token_problem(item) if is_time_token_like(item) else None
        if problem is not None:
            fail("time_token", problem)


def _json_scalars(value: Any, allow_null: bool) -> Any:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, list | dict) or (item is None and not allow_null):
            fail("value", "expected text, a number, true/false or a list of those")
    _time_tokens(value)
    return value


def _height(value: Any) -> Any:
    if value in ("fixed", "auto") and isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    fail("height", f"unknown height {value!r}; allowed: fixed, auto, or a number of pixels")


Slug = Annotated[str, checked(_slug)]
Text = Annotated[str, checked(_non_empty)]
FieldPath = Annotated[str, checked(_dotted_path)]
EventName = Annotated[str, checked(_event_name)]
UiEventName = Annotated[str, checked(_ui_event_name)]
ParamValue = Annotated[
    Scalar | list[Scalar], BeforeValidator(lambda value: _json_scalars(value, allow_null=False))
]
FilterValue = Annotated[
    Scalar | list[Scalar | None] | None,
    BeforeValidator(lambda value: _json_scalars(value, allow_null=True)),
]
Endpoint = Annotated[str, checked(_endpoint)]
"""Relative to the provider's API base, which already ends in /v1: '/charges'."""
EventPattern = Annotated[str, checked(_pattern)]
"""A subscription pattern that reaches at least one event of the catalogue."""
ConditionText = Annotated[str, checked(_condition)]
StyleClassName = Annotated[str, checked(_style_class)]
Height = Annotated[Literal["fixed", "auto"] | int, BeforeValidator(_height)]
