"""Reading definition files (widgets, workflows): the rules every such JSON file goes through.

One place for the size limit, the UTF-8 check, bounded JSON with duplicate keys and `NaN`
refused, the top-level object check and pydantic errors turned into located Problems, so a
widget file and a workflow file meet the same hostile-input rules. No Streamlit here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from lib.widgets.bounded_json import (
    MAX_TEXT_CHARS,
    JsonLimitError,
    load_bounded_json,
    value_limit_problems,
)
from lib.widgets.introspection import allowed_keys, format_path

ModelT = TypeVar("ModelT", bound=BaseModel)
ErrorT = TypeVar("ErrorT", bound="DefinitionError")
Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file: where (JSON path, '' for the whole file) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DefinitionError(Exception):
    """A definition file that cannot be used; `str()` lists every problem, one per line."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.file}: {problem}" for problem in self.problems)


@dataclass(frozen=True)
class LoadedDefinition(Generic[ModelT, ErrorT]):
    """The outcome for one file of a folder: a definition or the error explaining why not."""

    file: Path
    definition: ModelT | None
    error: ErrorT | None


def read_definition_text(path: str | Path, error: type[DefinitionError]) -> str:
    """The file's text; raises `error` when it is unreadable, too large or not UTF-8."""
    file = str(path)
    try:
        with Path(path).open("rb") as stream:
            # One byte past the limit is enough to know the file is too large.
            raw = stream.read(MAX_TEXT_CHARS + 1)
        if len(raw) > MAX_TEXT_CHARS:
            message = f"file too large: more than {MAX_TEXT_CHARS:,} bytes"
            raise error(file, [Problem("", message)])
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(file, [Problem("", "cannot read file: not UTF-8 text")]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise error(file, [Problem("", f"cannot read file: {reason}")]) from None


def parse_definition_json(text: str, file: str, error: type[DefinitionError]) -> Any:
    """JSON text as Python data, bounded before conversion; raises `error` with every problem.

    Duplicate keys and the `NaN`/`Infinity` constants are refused: neither is plain JSON.
    """
    try:
        return load_bounded_json(
            text, object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise error(file, [Problem("", message)]) from None
    except _JsonContentError as exc:
        raise error(file, [Problem("", f"invalid JSON: {exc}")]) from None
    except JsonLimitError as exc:
        raise error(file, limit_problems(exc.problems)) from None


def validate_definition(
    data: Any,
    file: str,
    model: type[ModelT],
    error: type[DefinitionError],
    describe: Callable[[Any, type[BaseModel], Location], str],
) -> ModelT:
    """Parsed JSON as `model`; raises `error` naming each problem (`describe` words pydantic's)."""
    if not isinstance(data, dict):
        raise error(file, [Problem("", "expected a JSON object at the top level")])
    beyond_limits = value_limit_problems(data)
    if beyond_limits:
        raise error(file, limit_problems(beyond_limits))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(file, problems_from_validation(exc, model, describe)) from None


def problems_from_validation(
    error: ValidationError,
    model: type[BaseModel],
    describe: Callable[[Any, type[BaseModel], Location], str],
) -> list[Problem]:
    """Pydantic's errors as Problems with the file's own JSON paths.

    A model's `*_inconsistent` error carries its own located problems; `describe` words the rest.
    """
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        location = tuple(item["loc"])
        if item["type"].endswith("_inconsistent") and "problems" in item.get("ctx", {}):
            problems.extend(
                Problem(format_path(location + inner), message)
                for inner, message in item["ctx"]["problems"]
            )
        else:
            problems.append(Problem(format_path(location), describe(item, model, location)))
    return problems


def describe_common(item: Any, model: type[BaseModel], location: Location) -> str | None:
    """The wording both kinds of file share (missing and unknown keys), or None for the rest."""
    if item["type"] == "missing":
        return "required field missing"
    if item["type"] == "extra_forbidden":
        allowed = allowed_keys(model, location[:-1]) or ()
        return f"unknown key {location[-1]!r}; allowed: {', '.join(allowed)}"
    return None


def load_definition_folder(
    directory: Path,
    load: Callable[[Path], ModelT],
    error: type[ErrorT],
    loaded: Callable[[Path, ModelT | None, ErrorT | None], Any],
) -> list[Any]:
    """Every `*.json` file directly in `directory`, sorted by file name, each loaded or failed."""
    results: list[Any] = []
    for file in sorted(directory.glob("*.json"), key=lambda candidate: candidate.name):
        try:
            results.append(loaded(file, load(file), None))
        except error as exc:
            results.append(loaded(file, None, exc))
    return results


def limit_problems(problems: list[tuple[Location, str]]) -> list[Problem]:
    """bounded_json's located limit problems as Problems."""
    return [Problem(format_path(location), message) for location, message in problems]


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
