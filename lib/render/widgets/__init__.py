"""Streamlit drawing of widgets: the dashboard's cards and fragments, and a `WidgetView` as a
list, table, card or stat."""

from lib.render.widgets.dashboard import WidgetContext, render_dashboard
from lib.render.widgets.views import render_table, render_widget_view

__all__ = ["WidgetContext", "render_dashboard", "render_table", "render_widget_view"]
