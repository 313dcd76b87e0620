"""Credentials: connect Stripe (and other providers), test and disconnect."""

from lib.render.credentials import render_credentials_page

render_credentials_page()
