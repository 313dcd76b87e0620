"""The charges export buttons: CSV and Excel of every charge the filters match."""

from __future__ import annotations

from datetime import datetime

import streamlit as st
from sqlalchemy.engine import Engine

from lib.finance import ChargeFilters, charges_csv, charges_xlsx


def render_charge_exports(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime, total: int
) -> None:
    """Two download buttons; the file is built only when one is clicked."""
    stamp = now.strftime("%Y%m%d-%H%M")
    left, right = st.columns(2)
    left.download_button(
        f"Export {total:,} charges to CSV",
        data=lambda: charges_csv(engine, account_key, filters, now),
        file_name=f"charges-{stamp}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="charges_export_csv",
        disabled=total == 0,
    )
    right.download_button(
        "Export to Excel",
        data=lambda: charges_xlsx(engine, account_key, filters, now),
        file_name=f"charges-{stamp}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        icon=":material/table_view:",
        key="charges_export_xlsx",
        disabled=total == 0,
    )
