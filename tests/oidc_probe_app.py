"""A Streamlit script, not the product, that signs in with `st.login()` against whatever `[auth]`
its secrets.toml names: tests/test_oidc_sign_in.py runs it against the test OpenID provider."""

import streamlit as st

if st.user.is_logged_in:
    # st.text shows the claim literally: no markdown from the provider's data.
    st.text(f"Signed in as {st.user.email}")
    if st.button("Sign out"):
        st.logout()
else:
    st.text("Not signed in")
    if st.button("Sign in"):
        st.login()
