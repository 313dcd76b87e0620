"""Credentials: connect Stripe (and other providers), test and disconnect."""

from lib.render.credentials import render_credentials_page
from lib.render.gate import require_viewer

require_viewer()
render_credentials_page()
