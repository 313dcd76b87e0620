"""`python -m lib.widgets check`: what a person sees in the terminal, and the exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.config import PROJECT_ROOT
from lib.widgets.__main__ import main


def _check(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib.widgets", "check", *paths],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_shipped_widgets_pass() -> None:
    result = _check()
    assert result.returncode == 0, result.stdout + result.stderr
    shipped = sorted((PROJECT_ROOT / "widgets").glob("*.json"))
    assert len(shipped) >= 3
    assert result.stdout.splitlines() == [
        *(f"ok   widgets/{path.name}" for path in shipped),
        f"{len(shipped)} checked, 0 invalid",
    ]


def test_invalid_file_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    seed = json.loads((PROJECT_ROOT / "widgets" / "stripe-payments.json").read_text())
    seed["display"]["fields"][2]["format"] = "curency"
    seed["display"]["view"] = "grid"
    (tmp_path / "bad.json").write_text(json.dumps(seed))
    (tmp_path / "broken.json").write_text('{\n  "type": "x",\n  "version": 1\n  "name": "y"\n}')
    result = _check(str(tmp_path), "widgets/stripe-payments.json")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path}/bad.json: display.view: unknown view 'grid'; allowed: list, table, card, stat",
        f"{tmp_path}/bad.json: display.fields[2].format: unknown format 'curency'; "
        "allowed: currency, relative-time, short-date, datetime, percent, number, interval",
        f"{tmp_path}/broken.json: invalid JSON at line 4 column 3: Expecting ',' delimiter",
        "ok   widgets/stripe-payments.json",
        "3 checked, 2 invalid",
    ]


def test_a_missing_path_is_a_usage_error() -> None:
    result = _check("widgets/no-such-widget.json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "python -m lib.widgets: error: no such file or folder: widgets/no-such-widget.json"
    )


def test_other_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path)]) == 2
    assert f"no .json files in folder {tmp_path}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as no_command:
        main([])
    assert no_command.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


def test_hostile_files_are_reported_with_file_and_path_and_the_rest_still_checked(
    tmp_path: Path,
) -> None:
    seed = json.loads((PROJECT_ROOT / "widgets" / "stripe-payments.json").read_text())
    (tmp_path / "a-deep.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "b-huge.json").write_text(
        json.dumps(seed).replace('"version": 1', '"version": ' + "9" * 5000)
    )
    far_back = json.loads(json.dumps(seed))
    far_back["dataSource"]["params"]["created[gte]"] = "@now-999999d"
    (tmp_path / "c-far-back.json").write_text(json.dumps(far_back))
    (tmp_path / "d-good.json").write_text(json.dumps(seed))

    result = _check(str(tmp_path))

    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"{tmp_path}/a-deep.json: a{'[0]' * 63}: nested more than 64 levels deep; "
        "flatten this value",
        f"{tmp_path}/b-huge.json: version: number 999999999999... (5,000 characters) is out "
        "of range; use a finite number of at most 40 characters "
        "(whole numbers within ±9,223,372,036,854,775,807)",
        f"{tmp_path}/c-far-back.json: dataSource.params['created[gte]']: time token "
        "'@now-999999d' reaches back more than 36,500 days (100 years); use a smaller number",
        f"ok   {tmp_path}/d-good.json",
        "4 checked, 3 invalid",
    ]
