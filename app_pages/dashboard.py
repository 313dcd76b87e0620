"""Dashboard: every widget definition in widgets/, each in its own card."""

import streamlit as st

from lib.config import get_settings
from lib.render.gate import require_viewer
from lib.render.session import widget_context
from lib.render.widgets import render_dashboard

require_viewer()
st.title("Dashboard")
render_dashboard(get_settings().widgets_dir, widget_context())
