"""Command line for workflow files: `check [PATH ...]`.

Exit status: 0 when every file is valid, 1 when any is invalid, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lib.config import get_settings
from lib.workflows.loader import (
    LoadedWorkflow,
    WorkflowDefinitionError,
    load_workflow_file,
    load_workflow_folder,
)

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The `python -m lib.workflows` parser."""
    parser = argparse.ArgumentParser(prog="python -m lib.workflows", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="validate workflow definition files")
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="workflow files or folders (default: the WORKFLOWS_DIR setting, workflows/)",
    )
    return parser


def run_check(paths: Sequence[Path]) -> int:
    """Print `ok   <file>` for each valid file and every problem of each invalid one."""
    results = [result for path in paths for result in _load(path)]
    for result in results:
        print(f"ok   {result.file}" if result.error is None else result.error)
    if not results:
        print("no workflow files found", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_INVALID if any(result.error is not None for result in results) else EXIT_OK


def _load(path: Path) -> list[LoadedWorkflow]:
    if path.is_dir():
        return load_workflow_folder(path)
    try:
        return [LoadedWorkflow(path, load_workflow_file(path), None)]
    except WorkflowDefinitionError as exc:
        return [LoadedWorkflow(path, None, exc)]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = [Path(path) for path in args.paths] or [get_settings().workflows_dir]
    return run_check(paths)


if __name__ == "__main__":
    sys.exit(main())
