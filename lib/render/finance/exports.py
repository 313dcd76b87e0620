"""The charges export buttons: CSV and Excel of every charge the filters match."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import streamlit as st
from sqlalchemy.engine import Engine

from lib.finance import ChargeFilters, charges_csv, charges_xlsx
from lib.widgets.formatting import format_number

_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render_charge_exports(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime, total: int
) -> None:
    """Two download buttons; the file is built only when one is clicked."""
    stamp = now.strftime("%Y%m%d-%H%M")
    exports = (
        (
            f"Export {format_number(total)} charges to CSV",
            charges_csv,
            "csv",
            "text/csv",
            "download",
        ),
        ("Export to Excel", charges_xlsx, "xlsx", _XLSX_MIME, "table_view"),
    )
    for column, (label, build, extension, mime, icon) in zip(st.columns(2), exports, strict=True):
        column.download_button(
            label,
            data=partial(build, engine, account_key, filters, now),
            file_name=f"charges-{stamp}.{extension}",
            mime=mime,
            on_click="ignore",
            icon=f":material/{icon}:",
            key=f"charges_export_{extension}",
            disabled=total == 0,
        )
