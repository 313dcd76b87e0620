"""What a test does when something it needs is not installed: skip, except under CI=true."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing_requirement(reason: str) -> NoReturn:
    """Skip the test for `reason`; fail it under CI=true, where `.ci/run` installs everything
    the tests need."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it")
    pytest.skip(reason)
