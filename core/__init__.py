"""Mask Studio core: plain Python logic, never imports streamlit."""
