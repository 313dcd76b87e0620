"""The charges export buttons: CSV of every charge the filters match (streamed by the export
route through a signed link), and Excel up to a size a workbook built in memory can take."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from urllib.parse import urlencode

import streamlit as st
from sqlalchemy.engine import Engine

from lib.config import get_settings
from lib.exports import (
    EXPORT_ROUTE_PATH,
    LINK_PARAM,
    LINK_REFRESH_SECONDS,
    ExportGrant,
    export_signing_key,
    issue_export_link,
)
from lib.finance import ChargeFilters, charges_xlsx, xlsx_refusal
from lib.render.access import current_actor
from lib.render.viewer import current_address
from lib.store import EncryptionKeyError
from lib.widgets.formatting import format_number

_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHARGES_PAGE_PATH = "charges"


def render_charge_exports(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime, total: int
) -> None:
    """CSV: a link to the export route, renewed while the page is open; Excel: a download
    button building the file when clicked, or why there is none for this many charges."""
    csv_column, excel_column = st.columns(2)
    with csv_column:
        _csv_link(account_key, filters, now, total)
    refusal = xlsx_refusal(total)
    excel_column.download_button(
        "Export to Excel",
        data=partial(charges_xlsx, engine, account_key, filters, now),
        file_name=f"charges-{now.strftime('%Y%m%d-%H%M')}.xlsx",
        mime=_XLSX_MIME,
        on_click="ignore",
        icon=":material/table_view:",
        key="charges_export_xlsx",
        disabled=total == 0 or refusal is not None,
    )
    if refusal is not None:
        excel_column.caption(refusal)


@st.fragment(run_every=LINK_REFRESH_SECONDS)
def _csv_link(account_key: str, filters: ChargeFilters, now: datetime, total: int) -> None:
    # A fragment of its own: the signed link expires, so an open page renews just this button.
    url = export_url(account_key, filters, now)
    st.link_button(
        f"Export {format_number(total)} charges to CSV",
        url or EXPORT_ROUTE_PATH,
        icon=":material/download:",
        key="charges_export_csv",
        disabled=total == 0 or url is None,
    )


def export_url(account_key: str, filters: ChargeFilters, now: datetime) -> str | None:
    """The signed CSV export link for this session's user, or None when no link can be signed
    (the encryption key is unusable)."""
    settings = get_settings()
    try:
        signing_key = export_signing_key(settings)
    except EncryptionKeyError:
        return None
    actor = current_actor()
    user = actor.name if actor.kind == "user" else None
    link = issue_export_link(signing_key, ExportGrant(account_key, filters, now, user))
    address = current_address(settings, CHARGES_PAGE_PATH)
    return f"{address.url(EXPORT_ROUTE_PATH)}?{urlencode({LINK_PARAM: link})}"
