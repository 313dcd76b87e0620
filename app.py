"""Entry point: the HTTP routes served beside the app, and the navigation over `app_pages/`.

`streamlit run app.py` finds the module-level `app` and serves it; `uvicorn app:app` works too.
"""

import streamlit as st

from lib.config import PROJECT_ROOT, follow_streamlit_secrets_files, settings_or_exit
from lib.http_routes import build_routes
from lib.providers.masking import install_log_redaction
from lib.render.warm_up import with_warm_up
from lib.tcp_nodelay import with_nodelay_listeners
from lib.workflows.runtime import app_lifespan

# Bundled: a Material icon as page icon is an SVG the browser fetches from fonts.gstatic.com.
FAVICON = PROJECT_ROOT / "assets" / "favicon.png"

install_log_redaction()
# The app's settings must come from the secrets files st.login reads (`--secrets.files` too).
follow_streamlit_secrets_files(lambda: st.get_option("secrets.files"))
settings_or_exit()  # a bad setting stops the start with a plain line naming it
# Streamlit leaves Nagle on for accepted connections (~40 ms per small response): see the
# module. Once it serves, the first page's imports and the demo data are prepared in the
# background.
app = st.App(
    "app.py",
    routes=build_routes(),
    lifespan=with_nodelay_listeners(with_warm_up(app_lifespan())),
)

if __name__ == "__main__":
    from lib.render.access import current_actor, render_identity
    from lib.render.gate import gate_page
    from lib.render.session import current_account
    from lib.render.shell import render_account_banner

    st.set_page_config(page_title="Payments dashboard", page_icon=FAVICON, layout="wide")
    actor = current_actor()
    only_page = gate_page(actor)
    if only_page is not None:
        # Signed out or not allowed: this page alone, and nothing that reads the account.
        st.navigation([only_page], position="hidden").run()
        st.stop()
    render_identity(actor)
    audit_page = st.Page(
        "app_pages/audit_log.py", title="Audit log", icon=":material/policy:", url_path="audit"
    )
    navigation = st.navigation(
        [
            st.Page(
                "app_pages/dashboard.py",
                title="Dashboard",
                icon=":material/dashboard:",
                default=True,
            ),
            st.Page(
                "app_pages/charges.py",
                title="Charges",
                icon=":material/receipt_long:",
                url_path="charges",
            ),
            st.Page(
                "app_pages/subscriptions.py",
                title="Subscriptions",
                icon=":material/autorenew:",
                url_path="subscriptions",
            ),
            st.Page(
                "app_pages/credentials.py",
                title="Credentials",
                icon=":material/key:",
                url_path="credentials",
            ),
            st.Page(
                "app_pages/webhooks.py",
                title="Webhooks",
                icon=":material/webhook:",
                url_path="webhooks",
            ),
            st.Page(
                "app_pages/workflows.py",
                title="Workflows",
                icon=":material/account_tree:",
                url_path="workflows",
            ),
            st.Page(
                "app_pages/event_debugger.py",
                title="Event Debugger",
                icon=":material/bug_report:",
                url_path="events",
            ),
            *([audit_page] if actor.is_admin else []),
        ]
    )
    render_account_banner(current_account())
    navigation.run()
