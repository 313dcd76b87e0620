"""Downloads too large to build in a page: the charges CSV streamed by an HTTP route beside the
app, reached through a signed, short-lived link the Charges page makes."""

from lib.exports.link import (
    EXPORT_ROUTE_PATH,
    LINK_PARAM,
    LINK_REFRESH_SECONDS,
    LINK_TTL_SECONDS,
    ExportGrant,
    export_signing_key,
    issue_export_link,
    read_export_link,
)
from lib.exports.route import export_routes

__all__ = [
    "EXPORT_ROUTE_PATH",
    "LINK_PARAM",
    "LINK_REFRESH_SECONDS",
    "LINK_TTL_SECONDS",
    "ExportGrant",
    "export_routes",
    "export_signing_key",
    "issue_export_link",
    "read_export_link",
]
