"""The app's chrome: no "Deploy" button for the people using it, and a page icon served by the
app itself (a Material icon as page icon is fetched from fonts.gstatic.com, so offline it is
missing)."""

from __future__ import annotations

import pytest
from PIL import Image
from streamlit import config
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from lib.config import PROJECT_ROOT
from tests.apptest_support import run_app


def test_the_toolbar_shows_viewers_no_deploy_button(repo_streamlit_config: None) -> None:
    assert config.get_option("client.toolbarMode") == "viewer"


def test_the_page_icon_is_the_bundled_image_served_by_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[ForwardMsg] = []
    forward_msgs = LocalScriptRunner.forward_msgs

    def recording(runner: LocalScriptRunner) -> list[ForwardMsg]:
        messages = forward_msgs(runner)
        sent.extend(messages)
        return messages

    monkeypatch.setattr(LocalScriptRunner, "forward_msgs", recording)

    app = run_app()

    assert not app.exception
    [favicon] = {m.page_config_changed.favicon for m in sent if m.HasField("page_config_changed")}
    # An image Streamlit read and serves from its own media endpoint, not a URL or icon name.
    assert "/media/" in favicon and favicon.endswith(".png") and "://" not in favicon, favicon
    with Image.open(PROJECT_ROOT / "assets" / "favicon.png") as icon:
        assert icon.format == "PNG" and icon.size == (64, 64)


def test_no_pages_folder_lets_a_deep_link_skip_the_entry() -> None:
    # Streamlit serves `pages/*.py` beside the entry on its own (multipage v1) on the first visit
    # after a start, without app.py's sign-in gate, banner and layout; the pages live elsewhere.
    assert not (PROJECT_ROOT / "pages").exists()
    scripts = sorted(path.name for path in (PROJECT_ROOT / "app_pages").glob("*.py"))
    entry = (PROJECT_ROOT / "app.py").read_text()
    assert scripts and all(f'"app_pages/{name}"' in entry for name in scripts)
