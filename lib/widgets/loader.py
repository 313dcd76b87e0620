"""Reading widget files: one file into a WidgetDefinition, or a folder into per-file results.

Every way a file can be wrong ends up as a WidgetDefinitionError listing each problem with
the file, the JSON path and what to do about it; a broken file never stops its neighbours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lib.widgets.bounded_json import (
    MAX_TEXT_CHARS,
    JsonLimitError,
    load_bounded_json,
    value_limit_problems,
)
from lib.widgets.introspection import allowed_keys, format_path
from lib.widgets.schema import WidgetDefinition

_TYPE_MESSAGES = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a widget file: where (JSON path, '' for the whole file) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class WidgetDefinitionError(Exception):
    """A widget file that cannot be used; `str()` lists every problem, one per line."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.file}: {problem}" for problem in self.problems)


@dataclass(frozen=True)
class LoadedWidget:
    """The outcome for one file of a folder: a definition or the error explaining why not."""

    file: Path
    definition: WidgetDefinition | None
    error: WidgetDefinitionError | None

    @property
    def widget_id(self) -> str:
        """Stable id for the widget: its file name without '.json'."""
        return self.file.stem


def load_widget_file(path: str | Path) -> WidgetDefinition:
    """Read and validate one widget file; raise WidgetDefinitionError with every problem."""
    file = str(path)
    try:
        with Path(path).open("rb") as stream:
            # One byte past the limit is enough to know the file is too large.
            raw = stream.read(MAX_TEXT_CHARS + 1)
        if len(raw) > MAX_TEXT_CHARS:
            message = f"file too large: more than {MAX_TEXT_CHARS:,} bytes"
            raise WidgetDefinitionError(file, [Problem("", message)])
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WidgetDefinitionError(
            file, [Problem("", "cannot read file: not UTF-8 text")]
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise WidgetDefinitionError(file, [Problem("", f"cannot read file: {reason}")]) from None
    return parse_widget_text(text, file)


def parse_widget_text(text: str, file: str = "<widget>") -> WidgetDefinition:
    """Validate widget JSON text; `file` names it in the error.

    Size, nesting and numbers are bounded before anything is converted (see bounded_json).
    """
    try:
        data = load_bounded_json(
            text, object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise WidgetDefinitionError(file, [Problem("", message)]) from None
    except _JsonContentError as exc:
        raise WidgetDefinitionError(file, [Problem("", f"invalid JSON: {exc}")]) from None
    except JsonLimitError as exc:
        raise WidgetDefinitionError(file, _limit_problems(exc.problems)) from None
    return parse_widget_data(data, file)


def parse_widget_data(data: Any, file: str = "<widget>") -> WidgetDefinition:
    """Validate already-parsed widget JSON; `file` names it in the error."""
    if not isinstance(data, dict):
        raise WidgetDefinitionError(file, [Problem("", "expected a JSON object at the top level")])
    beyond_limits = value_limit_problems(data)
    if beyond_limits:
        raise WidgetDefinitionError(file, _limit_problems(beyond_limits))
    try:
        return WidgetDefinition.model_validate(data)
    except ValidationError as exc:
        raise WidgetDefinitionError(file, problems_from_validation(exc)) from None


def load_widget_folder(folder: str | Path) -> list[LoadedWidget]:
    """Every `*.json` file directly in `folder`, sorted by file name, each loaded or failed.

    Raises NotADirectoryError when `folder` is not a directory.
    """
    directory = Path(folder)
    if not directory.is_dir():
        raise NotADirectoryError(f"not a folder: {directory}")
    results: list[LoadedWidget] = []
    for file in sorted(directory.glob("*.json"), key=lambda candidate: candidate.name):
        try:
            results.append(LoadedWidget(file, load_widget_file(file), None))
        except WidgetDefinitionError as exc:
            results.append(LoadedWidget(file, None, exc))
    return results


def problems_from_validation(error: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems: JSON paths with the file's own keys, plain messages."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        location = tuple(item["loc"])
        if item["type"] == "widget_inconsistent":
            problems.extend(
                Problem(format_path(location + inner), message)
                for inner, message in item["ctx"]["problems"]
            )
        else:
            problems.append(Problem(format_path(location), _message(item, location)))
    return problems


def _limit_problems(problems: list[tuple[tuple[str | int, ...], str]]) -> list[Problem]:
    return [Problem(format_path(location), message) for location, message in problems]


def _message(item: Any, location: tuple[str | int, ...]) -> str:
    kind = item["type"]
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        allowed = allowed_keys(WidgetDefinition, location[:-1]) or ()
        return f"unknown key {location[-1]!r}; allowed: {', '.join(allowed)}"
    if kind in _TYPE_MESSAGES:
        return f"{_TYPE_MESSAGES[kind]}, got {_json(item['input'])}"
    if kind == "greater_than_equal":
        return f"must be at least {item['ctx']['ge']}, got {_json(item['input'])}"
    if kind == "too_short":
        return "must not be empty"
    return item["msg"]


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


class _JsonContentError(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last of two equal keys.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonContentError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise _JsonContentError(f"{name} is not allowed in JSON")
