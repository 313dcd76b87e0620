"""Running the real app in-process with Streamlit's AppTest, and reading what a person sees."""

from __future__ import annotations

import re

import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.config import PROJECT_ROOT

_ESCAPED = re.compile(r"\\(.)")


def run_app(page: str | None = None, timeout: float = 60) -> AppTest:
    """Run app.py (and switch to `page`, e.g. "pages/credentials.py") with a fresh data cache."""
    st.cache_data.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=timeout)
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    return app


def unescape(markdown: str) -> str:
    """Markdown as read on screen: backslash escapes removed."""
    return _ESCAPED.sub(r"\1", markdown)


def shown_text(app: AppTest) -> list[str]:
    """Every markdown, caption, info, warning, error and metric text of the page, unescaped."""
    texts = [unescape(element.value) for element in app.markdown]
    texts += [element.value for element in app.caption]
    texts += [unescape(element.value) for element in (*app.info, *app.warning, *app.error)]
    texts += [f"{metric.label}: {metric.value}" for metric in app.metric]
    return texts
