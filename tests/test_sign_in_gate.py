"""The sign-in gate in Streamlit's AppTest: a visitor who is not signed in sees only the sign-in
page, an identity outside the allow-list a plain "not allowed" page, a viewer the data; local
mode's remote visitors read only. `st.user` is AppTest's own `user` setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lib.config
import lib.render.client
from lib.config import PROJECT_ROOT
from lib.render.access import LOCAL_READ_ONLY
from tests.apptest_support import markdown_sources, run_app, shown_text, unescape
from tests.sign_in_support import (
    ADMIN,
    OUTSIDER,
    SIGNED_OUT,
    VIEWER,
    audit_rows,
    configure_sign_in,
    signed_in,
)

PAGES = sorted(str(path) for path in (PROJECT_ROOT / "app_pages").glob("*.py"))
SIGN_IN_PAGE = sorted(
    [
        "Payments dashboard",
        "Sign in with your company account to continue.",
        "Sign in with Google",
    ]
)


@pytest.fixture
def sign_in_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure_sign_in(monkeypatch, tmp_path)


def open_app(user: dict[str, object], page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    app.user = user
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    return app


def everything(app: AppTest) -> list[str]:
    """Every text the page renders (sidebar and widget labels too), sorted."""
    widgets = [*app.text_input, *app.selectbox, *app.multiselect, *app.checkbox, *app.toggle]
    return sorted(
        [
            *markdown_sources(app),
            *(widget.label for widget in widgets),
            *(str(frame.value) for frame in app.dataframe),
        ]
    )


def test_a_visitor_who_is_not_signed_in_sees_only_the_sign_in_page(sign_in_on: None) -> None:
    app = open_app(SIGNED_OUT)

    assert not app.exception
    assert everything(app) == SIGN_IN_PAGE
    assert [button.label for button in app.button] == ["Sign in with Google"]
    assert not app.dataframe and not app.metric and not app.sidebar.caption


@pytest.mark.parametrize("page", PAGES, ids=lambda page: Path(page).stem)
def test_every_page_run_on_its_own_shows_only_the_sign_in_page(sign_in_on: None, page: str) -> None:
    # Streamlit runs a page script without app.py on a first visit to its URL after a start.
    app = AppTest.from_file(page, default_timeout=60)
    app.user = SIGNED_OUT
    app.run()

    assert not app.exception
    assert everything(app) == SIGN_IN_PAGE


def test_a_viewer_sees_the_data_and_who_is_signed_in(sign_in_on: None) -> None:
    app = open_app(signed_in(VIEWER))

    assert not app.exception
    assert "#### Recent Payments" in [element.value for element in app.markdown]
    assert [unescape(c.value) for c in app.sidebar.caption] == [f"Signed in as {VIEWER} (viewer)"]
    assert [button.label for button in app.sidebar.button] == ["Sign out"]
    assert LOCAL_READ_ONLY not in [info.value for info in app.info]


def test_sign_out_leads_back_to_the_sign_in_page(sign_in_on: None) -> None:
    app = open_app(signed_in(VIEWER))

    app.sidebar.button[0].click().run()

    assert not app.exception
    assert app.user == SIGNED_OUT
    assert everything(app) == SIGN_IN_PAGE


@pytest.mark.parametrize(
    ("user", "words"),
    [
        (signed_in(OUTSIDER), "Your account is not allowed to use this dashboard."),
        (
            signed_in(VIEWER, email_verified=False),
            "Your identity provider says your e-mail address is not verified",
        ),
        ({"is_logged_in": True, "name": "No Address"}, "did not include a readable e-mail"),
    ],
    ids=["outside the allow-list", "unverified", "no e-mail"],
)
def test_an_identity_that_may_not_sign_in_gets_a_plain_refusal_and_no_data(
    sign_in_on: None, user: dict[str, object], words: str
) -> None:
    app = open_app(user)
    app.run()

    assert not app.exception
    assert [title.value for title in app.title] == ["Not allowed"]
    assert any(words in text for text in shown_text(app))
    assert [button.label for button in app.button] == ["Sign out"]
    assert not app.dataframe and not app.metric
    assert not any("Recent Payments" in text or "Demo data" in text for text in everything(app))
    [entry] = audit_rows()
    assert (entry.action, entry.result, entry.attempts) == ("sign_in", "refused", 1)


def test_an_outsider_refusal_names_them_in_the_audit_log(sign_in_on: None) -> None:
    open_app(signed_in(OUTSIDER))

    [entry] = audit_rows()
    assert (entry.actor, entry.role, entry.detail) == (
        OUTSIDER,
        None,
        "Your account is not allowed to use this dashboard.",
    )


def test_a_stripe_answer_reaching_a_signed_out_browser_is_refused_and_recorded(
    sign_in_on: None,
) -> None:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    app.user = SIGNED_OUT
    app.query_params["code"] = "ac_stolen"
    app.query_params["state"] = "state-of-someone-else"
    app.run()

    assert not app.exception
    assert any("nothing was saved" in warning.value for warning in app.warning)
    assert dict(app.query_params) == {}
    [entry] = audit_rows()
    assert (entry.actor, entry.action, entry.result) == (
        "not signed in",
        "credentials.connect_finish",
        "refused",
    )


def test_the_audit_log_page_is_offered_to_admins_only(sign_in_on: None) -> None:
    admin = open_app(signed_in(ADMIN), page="app_pages/audit_log.py")

    assert not admin.exception
    assert [title.value for title in admin.title] == ["Audit log"]
    with pytest.raises(ValueError, match="audit_log"):
        open_app(signed_in(VIEWER), page="app_pages/audit_log.py")


def test_local_mode_shows_a_remote_visitor_the_data_read_only_with_how_to_sign_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lib.render.client, "client_address", lambda: "203.0.113.9")

    app = run_app()

    assert not app.exception
    assert "#### Recent Payments" in [element.value for element in app.markdown]
    [banner] = [info.value for info in app.info if info.value.startswith("Read-only")]
    assert "`[auth]`" in banner and "ALLOW_REMOTE_ADMIN=true" in banner
    assert not app.sidebar.button


def test_local_mode_on_this_computer_needs_no_sign_in_and_can_change_things() -> None:
    app = run_app()

    assert not app.exception
    assert not [info for info in app.info if info.value.startswith("Read-only")]
    assert [caption.value for caption in app.sidebar.caption] == [
        "Local mode: no sign-in is configured; changes are allowed from here."
    ]


def test_allow_remote_admin_lets_a_remote_visitor_change_things(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lib.render.client, "client_address", lambda: "203.0.113.9")
    monkeypatch.setenv("ALLOW_REMOTE_ADMIN", "true")
    lib.config.get_settings.cache_clear()

    app = run_app()

    assert not [info for info in app.info if info.value.startswith("Read-only")]


def test_a_sign_in_that_cannot_start_says_so_plainly(sign_in_on: None) -> None:
    # Streamlit reads `[auth]` from its own secrets files, where this test put none.
    app = open_app(SIGNED_OUT)

    app.button[0].click().run()

    assert not app.exception
    [error] = [unescape(element.value) for element in app.error]
    assert error.startswith("Sign-in is not set up completely, so it cannot start.")
