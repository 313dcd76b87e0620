"""Reading workflow files: one file into a WorkflowDefinition, or a folder into per-file results.

As with widget files (`lib.widgets.loader`), size, nesting and numbers are bounded before
anything is converted, and every problem names the file and the JSON path; one broken file
never hides the others.
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
from lib.widgets.loader import Problem
from lib.workflows.schema import WorkflowDefinition


class WorkflowDefinitionError(Exception):
    """A workflow file that cannot be used; `str()` lists every problem, one per line."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.file}: {problem}" for problem in self.problems)


@dataclass(frozen=True)
class LoadedWorkflow:
    """One file of a folder: its definition or why it cannot be used."""

    file: Path
    definition: WorkflowDefinition | None
    error: WorkflowDefinitionError | None

    @property
    def workflow_id(self) -> str:
        """Stable id of the workflow: its file name without '.json'."""
        return self.file.stem


def load_workflow_file(path: str | Path) -> WorkflowDefinition:
    """Read and validate one workflow file; raise WorkflowDefinitionError with every problem."""
    file = str(path)
    try:
        with Path(path).open("rb") as stream:
            raw = stream.read(MAX_TEXT_CHARS + 1)
        if len(raw) > MAX_TEXT_CHARS:
            message = f"file too large: more than {MAX_TEXT_CHARS:,} bytes"
            raise WorkflowDefinitionError(file, [Problem("", message)])
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkflowDefinitionError(
            file, [Problem("", "cannot read file: not UTF-8 text")]
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise WorkflowDefinitionError(file, [Problem("", f"cannot read file: {reason}")]) from None
    return parse_workflow_text(text, file)


def parse_workflow_text(text: str, file: str = "<workflow>") -> WorkflowDefinition:
    """Validate workflow JSON text; `file` names it in the error."""
    try:
        data = load_bounded_json(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise WorkflowDefinitionError(file, [Problem("", message)]) from None
    except _DuplicateKeyError as exc:
        raise WorkflowDefinitionError(file, [Problem("", f"invalid JSON: {exc}")]) from None
    except JsonLimitError as exc:
        raise WorkflowDefinitionError(file, _located(exc.problems)) from None
    if not isinstance(data, dict):
        raise WorkflowDefinitionError(
            file, [Problem("", "expected a JSON object at the top level")]
        )
    beyond_limits = value_limit_problems(data)
    if beyond_limits:
        raise WorkflowDefinitionError(file, _located(beyond_limits))
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        raise WorkflowDefinitionError(file, _validation_problems(exc)) from None


def load_workflow_folder(folder: str | Path) -> list[LoadedWorkflow]:
    """Every `*.json` file directly in `folder`, by file name, each loaded or failed; an empty
    list when the folder does not exist."""
    directory = Path(folder)
    if not directory.is_dir():
        return []
    results: list[LoadedWorkflow] = []
    for file in sorted(directory.glob("*.json"), key=lambda candidate: candidate.name):
        try:
            results.append(LoadedWorkflow(file, load_workflow_file(file), None))
        except WorkflowDefinitionError as exc:
            results.append(LoadedWorkflow(file, None, exc))
    return results


def _validation_problems(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        location = tuple(item["loc"])
        if item["type"] == "workflow_inconsistent":
            problems.extend(
                Problem(format_path(location + inner), message)
                for inner, message in item["ctx"]["problems"]
            )
        elif item["type"] == "extra_forbidden":
            allowed = allowed_keys(WorkflowDefinition, location[:-1]) or ()
            message = f"unknown key {location[-1]!r}; allowed: {', '.join(allowed)}"
            problems.append(Problem(format_path(location), message))
        elif item["type"] == "missing":
            problems.append(Problem(format_path(location), "required field missing"))
        else:
            problems.append(Problem(format_path(location), item["msg"]))
    return problems


def _located(problems: list[tuple[tuple[str | int, ...], str]]) -> list[Problem]:
    return [Problem(format_path(location), message) for location, message in problems]


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last of two equal keys.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {key!r}")
        result[key] = value
    return result
