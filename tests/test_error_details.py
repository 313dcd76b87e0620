"""Error details stay on the server: an uncaught error shows the browser a generic message (no
type, message or traceback, which can hold SQL or data), and the pages catch the errors they
expect, such as a database that is down, with plain words."""

from __future__ import annotations

import tomllib

import pytest
from streamlit.testing.v1 import AppTest

import lib.config
from lib.config import PROJECT_ROOT
from tests.loopback_server import unused_url

LEAKY_SCRIPT = """
raise RuntimeError("(psycopg.OperationalError) SELECT customer_email FROM mirror_charges")
"""


def test_the_project_config_hides_error_details_from_the_browser() -> None:
    settings = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())

    assert settings["client"]["showErrorDetails"] == "none"


def test_an_uncaught_error_shows_no_message_type_or_traceback_but_is_logged(
    repo_streamlit_config: None, caplog: pytest.LogCaptureFixture
) -> None:
    at = AppTest.from_string(LEAKY_SCRIPT).run()

    (error,) = at.exception
    assert "redacted" in error.message
    assert "SELECT" not in error.message and "mirror_charges" not in error.message
    assert list(error.stack_trace) == []
    assert "RuntimeError" not in str(error.proto)
    assert "SELECT customer_email FROM mirror_charges" in caplog.text  # the server log has it


@pytest.mark.parametrize(
    ("page", "plain_words"),
    [
        ("charges", "The local database is not available"),
        ("subscriptions", "The local database is not available"),
        ("webhooks", "The event store cannot be opened"),
        ("credentials", "The credentials database cannot be opened"),
    ],
)
def test_a_database_that_is_down_is_explained_in_plain_words(
    monkeypatch: pytest.MonkeyPatch, page: str, plain_words: str
) -> None:
    port = unused_url().rsplit(":", 1)[1]  # nothing listens there: connections are refused
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://app@127.0.0.1:{port}/db")
    lib.config.get_settings.cache_clear()

    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / f"{page}.py"), default_timeout=30).run()

    assert not at.exception
    assert any(plain_words in error.value for error in at.error)
    assert not any("SELECT" in error.value or "Traceback" in error.value for error in at.error)
