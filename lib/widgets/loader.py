"""Reading widget files: one file into a WidgetDefinition, or a folder into per-file results.

Every way a file can be wrong ends up as a WidgetDefinitionError listing each problem with
the file, the JSON path and what to do about it; a broken file never stops its neighbours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lib.widgets.definition_files import (
    DefinitionError,
    LoadedDefinition,
    Location,
    Problem,
    describe_common,
    load_definition_folder,
    parse_definition_json,
    read_definition_text,
    validate_definition,
)
from lib.widgets.definition_files import (
    problems_from_validation as _problems_from_validation,
)
from lib.widgets.schema import WidgetDefinition

__all__ = [
    "LoadedWidget",
    "Problem",
    "WidgetDefinitionError",
    "load_widget_file",
    "load_widget_folder",
    "parse_widget_data",
    "parse_widget_text",
    "problems_from_validation",
]

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


class WidgetDefinitionError(DefinitionError):
    """A widget file that cannot be used; `str()` lists every problem, one per line."""


@dataclass(frozen=True)
class LoadedWidget(LoadedDefinition[WidgetDefinition, WidgetDefinitionError]):
    """The outcome for one file of a folder: a definition or the error explaining why not."""

    @property
    def widget_id(self) -> str:
        """Stable id for the widget: its file name without '.json'."""
        return self.file.stem


def load_widget_file(path: str | Path) -> WidgetDefinition:
    """Read and validate one widget file; raise WidgetDefinitionError with every problem."""
    return parse_widget_text(read_definition_text(path, WidgetDefinitionError), str(path))


def parse_widget_text(text: str, file: str = "<widget>") -> WidgetDefinition:
    """Validate widget JSON text; `file` names it in the error.

    Size, nesting and numbers are bounded before anything is converted (see bounded_json).
    """
    return parse_widget_data(parse_definition_json(text, file, WidgetDefinitionError), file)


def parse_widget_data(data: Any, file: str = "<widget>") -> WidgetDefinition:
    """Validate already-parsed widget JSON; `file` names it in the error."""
    return validate_definition(data, file, WidgetDefinition, WidgetDefinitionError, _message)


def load_widget_folder(folder: str | Path) -> list[LoadedWidget]:
    """Every `*.json` file directly in `folder`, sorted by file name, each loaded or failed.

    Raises NotADirectoryError when `folder` is not a directory.
    """
    directory = Path(folder)
    if not directory.is_dir():
        raise NotADirectoryError(f"not a folder: {directory}")
    return load_definition_folder(directory, load_widget_file, WidgetDefinitionError, LoadedWidget)


def problems_from_validation(error: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems: JSON paths with the file's own keys, plain messages."""
    return _problems_from_validation(error, WidgetDefinition, _message)


def _message(item: Any, model: type[BaseModel], location: Location) -> str:
    common = describe_common(item, model, location)
    if common is not None:
        return common
    kind = item["type"]
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
