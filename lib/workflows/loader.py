"""Reading workflow files: one file into a WorkflowDefinition, or a folder into per-file results.

As with widget files (`lib.widgets.loader`), size, nesting and numbers are bounded before
anything is converted, and every problem names the file and the JSON path; one broken file
never hides the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

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
from lib.workflows.schema import WorkflowDefinition

__all__ = [
    "LoadedWorkflow",
    "Problem",
    "WorkflowDefinitionError",
    "load_workflow_file",
    "load_workflow_folder",
    "parse_workflow_text",
]


class WorkflowDefinitionError(DefinitionError):
    """A workflow file that cannot be used; `str()` lists every problem, one per line."""


@dataclass(frozen=True)
class LoadedWorkflow(LoadedDefinition[WorkflowDefinition, WorkflowDefinitionError]):
    """One file of a folder: its definition or why it cannot be used."""

    @property
    def workflow_id(self) -> str:
        """Stable id of the workflow: its file name without '.json'."""
        return self.file.stem


def load_workflow_file(path: str | Path) -> WorkflowDefinition:
    """Read and validate one workflow file; raise WorkflowDefinitionError with every problem."""
    return parse_workflow_text(read_definition_text(path, WorkflowDefinitionError), str(path))


def parse_workflow_text(text: str, file: str = "<workflow>") -> WorkflowDefinition:
    """Validate workflow JSON text; `file` names it in the error."""
    data = parse_definition_json(text, file, WorkflowDefinitionError)
    return validate_definition(data, file, WorkflowDefinition, WorkflowDefinitionError, _message)


def load_workflow_folder(folder: str | Path) -> list[LoadedWorkflow]:
    """Every `*.json` file directly in `folder`, by file name, each loaded or failed; an empty
    list when the folder does not exist."""
    directory = Path(folder)
    if not directory.is_dir():
        return []
    return load_definition_folder(
        directory, load_workflow_file, WorkflowDefinitionError, LoadedWorkflow
    )


def _message(item: Any, model: type[BaseModel], location: Location) -> str:
    # Workflow files keep pydantic's own wording beyond missing and unknown keys.
    return describe_common(item, model, location) or item["msg"]
