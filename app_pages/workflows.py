"""Workflows: automations on server events, their runs and steps; admin controls."""

from lib.render.gate import require_viewer
from lib.render.workflows import render_workflows_page

require_viewer()
render_workflows_page()
