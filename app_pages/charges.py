"""Charges: every charge of the account from the local mirror, filtered, summed per currency."""

from lib.render.finance import render_charges_page
from lib.render.gate import require_viewer

require_viewer()
render_charges_page()
