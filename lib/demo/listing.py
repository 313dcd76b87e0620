"""Stripe's request semantics for the demo: bracket query syntax, errors, filters and pages."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lib.demo.data import StripeObject

QueryValue = str | list[str] | dict[str, str]
Predicate = Callable[[StripeObject], bool]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([A-Za-z0-9_]*)\])?$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_RANGE_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


class StripeRequestError(Exception):
    """A request Stripe refuses: the HTTP status and the fields of Stripe's `error` object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.error_type = error_type

    def body(self) -> dict[str, Any]:
        """The JSON body Stripe sends: `{"error": {message, type, code, doc_url, param}}`."""
        error: dict[str, Any] = {"message": self.message, "type": self.error_type}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def unknown_parameter(name: str) -> StripeRequestError:
    """Stripe's 400 for a query parameter the endpoint does not take."""
    return StripeRequestError(
        400, f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
    )


def no_such(object_name: str, object_id: str, *, param: str, status: int) -> StripeRequestError:
    """Stripe's error for an id that names no visible object (404 for a path, 400 for a cursor)."""
    return StripeRequestError(
        status, f"No such {object_name}: '{object_id}'", param=param, code="resource_missing"
    )


def parse_query(pairs: Iterable[tuple[str, str]]) -> dict[str, QueryValue]:
    """Group Stripe's bracket syntax: `a=1`, arrays `a[]=1` / `a[0]=1`, hashes `a[gt]=1`.

    A repeated plain key keeps its last value, as Stripe's parser does.
    """
    query: dict[str, QueryValue] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise unknown_parameter(key)
        name, inner = match.groups()
        current = query.get(name)
        if inner is None:
            query[name] = value
        elif inner == "" or inner.isdigit():
            if not isinstance(current, list):
                current = query[name] = []
            current.append(value)
        else:
            if not isinstance(current, dict):
                current = query[name] = {}
            current[inner] = value
    return query


def read_string(value: QueryValue, param: str) -> str:
    """The value of a plain string parameter; a hash or array is refused as Stripe does."""
    if not isinstance(value, str):
        raise StripeRequestError(400, f"Invalid string: {value}", param=param)
    return value


def read_strings(value: QueryValue, param: str) -> list[str]:
    """The values of an array parameter (`types[]=a&types[]=b`); a plain value is refused."""
    if not isinstance(value, list):
        raise StripeRequestError(400, "Invalid array", param=param)
    return value


def read_integer(value: QueryValue, param: str) -> int:
    """A whole number in decimal digits, else Stripe's "Invalid integer" error."""
    if not isinstance(value, str) or _INTEGER.match(value) is None:
        raise StripeRequestError(
            400, f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
        )
    return int(value)


def read_limit(value: QueryValue | None) -> int:
    """The page size: 10 when absent, otherwise an integer from 1 to 100."""
    if value is None:
        return DEFAULT_LIMIT
    limit = read_integer(value, "limit")
    if not 1 <= limit <= MAX_LIMIT:
        raise StripeRequestError(
            400, f"Invalid limit: must be between 1 and {MAX_LIMIT}", param="limit"
        )
    return limit


def created_filter(value: QueryValue) -> Predicate:
    """`created=<t>` (exactly) or `created[gt|gte|lt|lte]=<t>` (a range, bounds combined)."""
    if not isinstance(value, dict):
        exact = read_integer(value, "created")
        return lambda obj: obj["created"] == exact
    bounds: list[tuple[Callable[[int, int], bool], int]] = []
    for name, text in value.items():
        compare = _RANGE_OPERATORS.get(name)
        if compare is None:
            raise unknown_parameter(f"created[{name}]")
        bounds.append((compare, read_integer(text, f"created[{name}]")))
    return lambda obj: all(compare(obj["created"], bound) for compare, bound in bounds)


@dataclass(frozen=True)
class Page:
    """One page of a list: its objects, newest first, and whether more lie beyond it."""

    data: list[StripeObject]
    has_more: bool


def sort_key(obj: StripeObject) -> tuple[int, str]:
    """The order Stripe lists in, read descending: newest first, ties by id."""
    return obj["created"], obj["id"]


def paginate(
    matching: Sequence[StripeObject],
    limit: int,
    *,
    starting_after: StripeObject | None = None,
    ending_before: StripeObject | None = None,
) -> Page:
    """The page of `matching` (newest first) next to a cursor object, as Stripe pages lists.

    `starting_after` gives the `limit` objects just older than the cursor; `ending_before` the
    `limit` objects just newer than it; `has_more` says whether more lie beyond, in that
    direction. The cursor need not itself match the filters.
    """
    if ending_before is not None:
        cursor = sort_key(ending_before)
        newer = [obj for obj in matching if sort_key(obj) > cursor]
        return Page(data=newer[-limit:], has_more=len(newer) > limit)
    older = matching
    if starting_after is not None:
        cursor = sort_key(starting_after)
        older = [obj for obj in matching if sort_key(obj) < cursor]
    return Page(data=list(older[:limit]), has_more=len(older) > limit)
