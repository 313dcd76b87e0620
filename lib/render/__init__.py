"""Streamlit glue shared by pages. Only modules here and `*/render.py` import streamlit."""
