"""The finance pages over the local mirror: the charges explorer and the subscriptions overview.

Filters live in the sidebar and in the URL (`lib.finance.filters` defines both forms); every
figure comes from SQL over the mirror, so a filter change never calls Stripe. The sync panel
keeps the mirror current in a background job the page only watches.
"""

from lib.render.finance.charges_page import render_charges_page
from lib.render.finance.subscriptions_page import render_subscriptions_page
from lib.render.finance.sync_panel import render_sync_panel

__all__ = ["render_charges_page", "render_subscriptions_page", "render_sync_panel"]
