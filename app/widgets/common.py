"""Small helpers every page uses: literal text, errors, messages, the repo path.

Names from users and files (categories, projects, images, files) are text, never markup: a
category named `![t](http://203.0.113.7/t.png)` must not make the browser fetch that host.
`show_error` and `flash` escape what they show; elsewhere wrap names in `literal()`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import streamlit as st

from core.errors import MaskStudioError

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

ANNOTATE_PAGE = ROOT / "pages" / "annotate.py"  # st.switch_page's target for "open in the annotator"

#: Characters that are Markdown (or Streamlit's `:icon:`, `:red[...]`, `$math$`) anywhere.
_ALWAYS = re.compile(r"([\\`*\[\]<|~$&])")
#: `_` between two letters or digits is plain text (no emphasis there); elsewhere it is markup.
_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
#: `:` followed by a non-space may start a shortcode (`:material/bolt:`, `:smile:`) or a URL.
_COLON = re.compile(r":(?=\S)")
#: What makes a line a heading, a list item, a quote, a rule or a setext underline.
_LINE_START = re.compile(r"^(\s*)(#|[-+=>]|\d+(?=[.)]))", re.MULTILINE)


def literal(text: object) -> str:
    """`text` escaped for st.markdown, widget labels and captions, so names from users and
    files (`<b>x</b>`, `![t](http://host/t.png)`, `:material/bolt:`) show exactly as typed and
    never load anything. Ordinary text (`faces: 17 new file(s).`, `no_mask`) stays as it is."""
    out = _ALWAYS.sub(r"\\\1", str(text))
    out = _UNDERSCORE.sub(r"\\_", out)
    out = _COLON.sub(r"\\:", out)
    return _LINE_START.sub(
        lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2)[0].isdigit() else "\\" + m.group(2)), out
    )


def show_error(exc: BaseException, prefix: str = "") -> None:
    """Show a core error as a clear message, literally (it quotes names from users and files);
    anything unexpected also shows its type."""
    text = str(exc) if isinstance(exc, MaskStudioError) else f"{type(exc).__name__}: {exc}"
    st.error(literal(f"{prefix}{text}"), icon=":material/error:")


def naming(file: str, action: Callable[[], T]) -> T:
    """`action()`; a MaskStudioError that does not name `file` (an upload) is raised again,
    prefixed with it, so every upload error says which file it is about."""
    try:
        return action()
    except MaskStudioError as exc:
        if file in str(exc):
            raise
        raise MaskStudioError(f"{file}: {exc}") from exc


#: A shown message stays on the page through every rerun for at least this many seconds.
FLASH_MIN_S = 5.0


def flash(kind: str, message: str) -> None:
    """Queue a message for the page to show after the rerun the action asks for.

    `message` is shown as plain text (it usually quotes names): pass it unescaped.

    A message stays through the reruns that follow on their own (the canvas reports its state,
    the URL changes): it goes only when a new action queues its own messages, or on a run at
    least FLASH_MIN_S after it was first shown (a later user action).
    """
    queue = st.session_state.setdefault("_flash", [])
    queue[:] = [item for item in queue if item["shown"] is None]  # a new action: old ones go
    queue.append({"kind": kind, "message": literal(message), "shown": None})


def act(action: Callable[[], T], done: str | Callable[[T], str]) -> None:
    """Do a button's `action`: on success queue `done` (or `done(result)`) as a success message
    and rerun the page; a MaskStudioError is shown instead and nothing reruns."""
    try:
        result = action()
    except MaskStudioError as exc:
        show_error(exc)
        return
    flash("success", done(result) if callable(done) else done)
    st.rerun()


def show_flashes(where=None) -> None:
    """Show the queued messages in `where` (an st.container placed at a fixed spot)."""
    now = time.monotonic()
    queue = st.session_state.get("_flash", [])
    queue[:] = [item for item in queue if item["shown"] is None or now - item["shown"] < FLASH_MIN_S]
    target = where if where is not None else st
    for item in queue:
        if item["shown"] is None:
            item["shown"] = now
        getattr(target, item["kind"])(item["message"])


def section_switch(names: Sequence[str], key: str, param: str = "section") -> str:
    """A keyed row of section buttons that keeps its place across reruns and actions.

    The choice is kept in session state (actions that rerun keep it) and in the URL as
    ?<param>=<name> (a reload or a link opens the same section).
    """
    goto = st.session_state.pop(f"{key}__goto", None)  # set by go_to_section
    if goto in names:
        st.session_state[key] = goto
    if st.session_state.get(key) not in names:
        wanted = str(st.query_params.get(param, "")).lower()
        by_param = {n.lower(): n for n in names}
        st.session_state[key] = by_param.get(wanted, names[0])
    section = st.segmented_control(
        "Section", list(names), key=key, required=True, label_visibility="collapsed"
    )
    section = section if section in names else names[0]
    if st.query_params.get(param) != section.lower():
        st.query_params[param] = section.lower()
    return section


def go_to_section(key: str, name: str) -> None:
    """Open section `name` of the `section_switch` keyed `key` (reruns the whole page)."""
    st.session_state[f"{key}__goto"] = name
    st.rerun(scope="app")


def use_app_navigation() -> None:
    """Make sure the page runs under home.py's navigation (titles, icons, page config).

    Streamlit sees `pages/` beside home.py and, until home.py has run once in this server, serves a
    page opened by its URL (a bookmark, a tab left open across a restart) on its own, with the
    folder's file names as the menu. Called first by every page: in that case it switches the
    server to home.py's `st.navigation` and runs again, on the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
