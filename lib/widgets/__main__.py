"""Command line for widget files: `check [PATH ...]` and `preview FILE [--rows N]`.

Exit status: 0 when every file is valid, 1 when any is invalid, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lib.config import get_settings
from lib.widgets.loader import (
    LoadedWidget,
    WidgetDefinitionError,
    load_widget_file,
    load_widget_folder,
)
from lib.widgets.preview import PreviewError, preview_account, preview_text

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    """The `python -m lib.widgets` parser; each sub-command sets `run(args) -> exit status`."""
    parser = argparse.ArgumentParser(prog="python -m lib.widgets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="validate widget definition files")
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="widget files or folders of *.json files (default: the WIDGETS_DIR setting, widgets/)",
    )
    check.set_defaults(run=run_check)
    preview = commands.add_parser(
        "preview", help="fetch a widget's data (demo account unless STRIPE_SECRET_KEY is set)"
    )
    preview.add_argument("file", metavar="FILE", help="a widget definition file")
    preview.add_argument("--rows", type=int, default=10, help="rows to print (default 10)")
    preview.set_defaults(run=run_preview)
    return parser


def run_check(args: argparse.Namespace) -> int:
    """Print `ok   <file>` for each valid file and every problem of each invalid one."""
    paths = [Path(path) for path in args.paths] or [_default_widgets_folder()]
    results = [result for path in paths for result in _load(path)]
    for result in results:
        if result.error is None:
            print(f"ok   {result.file}")
        else:
            print(result.error)
    invalid = sum(result.error is not None for result in results)
    print(f"{len(results)} checked, {invalid} invalid")
    return EXIT_INVALID if invalid else EXIT_OK


def run_preview(args: argparse.Namespace) -> int:
    """Print the widget's rows as the dashboard would show them; 1 when it cannot."""
    if args.rows < 1:
        raise _UsageError("--rows must be at least 1")
    path = Path(args.file)
    if not path.is_file():
        raise _UsageError(f"no such file: {path}")
    try:
        definition = load_widget_file(path)
        print(preview_text(definition, preview_account(get_settings()), args.rows))
    except (WidgetDefinitionError, PreviewError) as exc:
        print(f"{path}: {exc}" if isinstance(exc, PreviewError) else exc)
        return EXIT_INVALID
    return EXIT_OK


def _default_widgets_folder() -> Path:
    folder = get_settings().widgets_dir
    relative = os.path.relpath(folder)
    return Path(relative if not relative.startswith("..") else folder)


def _load(path: Path) -> list[LoadedWidget]:
    if path.is_dir():
        results = load_widget_folder(path)
        if not results:
            raise _UsageError(f"no .json files in folder {path}")
        return results
    if not path.exists():
        raise _UsageError(f"no such file or folder: {path}")
    try:
        return [LoadedWidget(path, load_widget_file(path), None)]
    except WidgetDefinitionError as exc:
        return [LoadedWidget(path, None, exc)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except _UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
