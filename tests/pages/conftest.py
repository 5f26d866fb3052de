"""Page tests run the page scripts with streamlit.testing.v1.AppTest."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def page_path(name: str) -> str:
    return str(REPO / "pages" / name)
