"""Small helpers every page uses: literal text, errors, colours, the repo path."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.errors import MaskStudioError  # noqa: E402

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$:])")

PALETTE = [
    "#9e9e9e",  # None: grey
    "#2e7d32",
    "#c62828",
    "#1565c0",
    "#ef6c00",
    "#6a1b9a",
    "#00838f",
    "#ad1457",
    "#558b2f",
    "#4e342e",
]


def literal(text: object) -> str:
    """`text` escaped for st.markdown, so user names like `<b>x</b>` show exactly as typed."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def colour_for(label: str, categories: list[str]) -> str:
    """A stable colour per category position; "None" is grey."""
    if label in categories:
        return PALETTE[categories.index(label) % len(PALETTE)]
    return PALETTE[0]


def show_error(exc: BaseException, prefix: str = "") -> None:
    """Show a core error as a clear message; anything unexpected also shows its type."""
    text = str(exc) if isinstance(exc, MaskStudioError) else f"{type(exc).__name__}: {exc}"
    st.error(f"{prefix}{text}" if prefix else text, icon=":material/error:")


def flash(kind: str, message: str) -> None:
    """Queue a message to show after the next rerun (st.rerun drops what this run wrote)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)
