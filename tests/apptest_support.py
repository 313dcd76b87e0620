"""Running the real app in-process with Streamlit's AppTest, and reading what a person sees."""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Dataframe

from lib.config import PROJECT_ROOT
from tests.markdown_links import visible_text


def run_app(
    page: str | None = None, timeout: float = 60, context: dict[str, Any] | None = None
) -> AppTest:
    """Run app.py (and switch to `page`, e.g. "app_pages/credentials.py") with a fresh data cache;
    `context` is what the browser reports (`url`, `timezone`, see AppTest.context)."""
    st.cache_data.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=timeout)
    app.context.update(context or {})
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    return app


def unescape(markdown: str) -> str:
    """Markdown as read on screen: backslash escapes resolved, code spans without their
    backticks (emphasis markers stay, so tests can tell bold text)."""
    return visible_text(markdown)


def shown_text(app: AppTest) -> list[str]:
    """Every markdown, caption, alert and metric text of the page, as read on screen."""
    texts = [unescape(element.value) for element in (*app.markdown, *app.caption)]
    alerts = (*app.info, *app.success, *app.warning, *app.error)
    texts += [unescape(element.value) for element in alerts]
    texts += [unescape(f"{metric.label}: {metric.value}") for metric in app.metric]
    return texts


def markdown_sources(app: AppTest) -> list[str]:
    """The markdown source of everything the page renders as markdown: text elements, badges,
    alerts, toasts, metric labels and values, and expander, tab and button labels."""
    elements = (
        *app.markdown,
        *app.caption,
        *app.title,
        *app.header,
        *app.subheader,
        *app.info,
        *app.success,
        *app.warning,
        *app.error,
        *app.toast,
    )
    sources = [element.value for element in elements]
    sources += [part for metric in app.metric for part in (metric.label, metric.value)]
    sources += [block.label for block in (*app.expander, *app.tabs, *app.button)]
    sources += [button.proto.label for button in app.get("link_button")]
    return sources


def table(app: AppTest, key_prefix: str) -> Dataframe:
    """The one dataframe whose key starts with `key_prefix`."""
    [found] = [frame for frame in app.dataframe if (frame.key or "").startswith(key_prefix)]
    return found


def select_row(app: AppTest, key_prefix: str, row: int) -> None:
    """Select row `row` of the table keyed `key_prefix...` as a click would, then rerun."""
    key = table(app, key_prefix).key
    app.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    app.run()
