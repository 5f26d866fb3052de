"""What every section of the Datasets page shares: the dataset picker, thumbnails, progress,
and the runner that turns a core build into messages."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from app.widgets.common import flash, literal, show_error
from core.data.build import BuildReport
from core.data.dataset import Dataset, list_datasets, unique_dataset_name
from core.data.folder_import import IGNORED_REASON
from core.data.manifest import list_versions
from core.errors import MaskStudioError
from core.imaging import load_image

GRID = 6  # thumbnails per row
PICK_KEY = "ds_pick"
_PENDING = "_ds_pending"  # {widget key: value} to apply before the next run draws widgets
Progress = Callable[[int, int], None]


# ----- widget values set by an action --------------------------------------------------------
def set_later(key: str, value: Any) -> None:
    """Give widget `key` this value on the next run (a drawn widget cannot be changed in this run;
    setting Session State before it is drawn is what makes the browser show the new value)."""
    st.session_state.setdefault(_PENDING, {})[key] = value


def apply_pending() -> None:
    """Apply the values queued by set_later; call before any widget is drawn."""
    for key, value in st.session_state.pop(_PENDING, {}).items():
        st.session_state[key] = value


# ----- versions and the dataset picker -------------------------------------------------------
def latest_versions() -> dict[str, str]:
    """{dataset: newest version id}."""
    out: dict[str, str] = {}
    for name, version in list_versions():
        out.setdefault(name, version)
    return out


def dataset_label(name: str, latest: dict[str, str]) -> str:
    """A dataset's name with its newest version id (or "not split yet")."""
    return f"{name} · version {latest[name]}" if name in latest else f"{name} · not split yet"


def select_dataset(name: str) -> None:
    """Make `name` the chosen dataset from the next run on (picker and URL)."""
    st.query_params["dataset"] = name
    set_later(PICK_KEY, name)


def choose_dataset(latest: dict[str, str]) -> Dataset | None:
    """The dataset picker (kept in the URL as ?dataset=...) and a one-line summary."""
    names = list_datasets()
    if not names:
        st.info("No dataset yet: build one below.")
        return None
    if st.session_state.get(PICK_KEY) not in names:
        wanted = st.query_params.get("dataset")
        st.session_state[PICK_KEY] = wanted if wanted in names else names[0]
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    name = left.selectbox("Dataset", names, format_func=lambda n: dataset_label(n, latest), key=PICK_KEY)
    if st.query_params.get("dataset") != name:
        st.query_params["dataset"] = name
    ds = Dataset.open(name)
    right.markdown(summary(ds, latest.get(name)))
    return ds


def summary(ds: Dataset, version: str | None) -> str:
    """Markdown: images per class, the unlabelled bin and the version of a dataset."""
    counts = ds.counts()
    parts = [f"**{sum(counts.values())} images**"]
    parts += [f"{c}: {n}" for c, n in counts.items()] or ["no classes yet"]  # safe folder names
    unlabelled = len(ds.unlabelled())
    if unlabelled:
        parts.append(f"{unlabelled} unlabelled crop(s) to review")
    parts.append(f"version `{version}`" if version else "not split yet")
    return " · ".join(parts)


# ----- thumbnails and progress ---------------------------------------------------------------
@st.cache_data(max_entries=1024, show_spinner=False)
def thumbnail(path: str, mtime: float, side: int = 128) -> bytes | None:
    """A JPEG thumbnail of an image file (None when it cannot be read)."""
    try:
        img = load_image(path)
    except MaskStudioError:
        return None
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def show_thumb(ds: Dataset, rel: str, caption: str | None = None) -> None:
    """A dataset file as a thumbnail, or a note that it cannot be read."""
    path = ds.root / rel
    data = thumbnail(str(path), path.stat().st_mtime) if path.is_file() else None
    if data is None:
        st.caption(f"unreadable: {literal(rel)}")
    else:
        st.image(data, caption=caption, width="stretch")


@contextmanager
def progress(text: str) -> Iterator[Progress]:
    """A progress bar for a core call's `progress(done, total)`; removed when the block ends,
    also when it fails."""
    slot = st.empty()
    bar = slot.progress(0.0, text=text)
    try:
        yield lambda done, total: bar.progress(min(done / max(total, 1), 1.0), text=f"{text} {done}/{total}")
    finally:
        slot.empty()


# ----- actions -------------------------------------------------------------------------------
def build(
    doing: str,
    done: str,
    name: str,
    add: bool,
    current: Dataset | None,
    action: Callable[[Dataset, Progress], BuildReport],
    name_field: tuple[str, str] | None = None,
) -> None:
    """Run a build into a new dataset (or into `current` when `add`), then report and select it.

    Errors are shown with "Nothing ...". A new dataset that ends up empty is removed again.
    `name_field` is target_inputs' (key, base): after a build its name field offers the next
    free name.
    """
    try:
        ds = current if add and current is not None else Dataset.create(name)
    except MaskStudioError as exc:
        show_error(exc, "Nothing built: ")
        return
    try:
        with progress(doing) as update:
            report = action(ds, update)
    except MaskStudioError as exc:
        if ds is not current:
            ds.remove_if_empty()
        show_error(exc, f"Nothing {done.lower()}: ")
        return
    if not report.written and not report.unchanged:
        if ds is not current:
            ds.remove_if_empty()
        reasons = "; ".join(report.skipped[:10]) or "there was nothing to take"
        st.error(literal(f"Nothing {done.lower()}, no dataset made: {reasons}"), icon=":material/error:")
        return
    counts = ", ".join(f"{c}: {n}" for c, n in report.counts().items())
    flash("success", f"{done} into {ds.name}: {len(report.written)} new file(s) ({counts}).")
    if report.unchanged:
        flash("info", f"{len(report.unchanged)} identical file(s) were already there.")
    if report.converted:
        flash("info", f"{len(report.converted)} file(s) re-encoded to PNG (Keras cannot read their format).")
    # Files the folder preview already listed as ignored are not repeated as a warning.
    skipped = [m for m in report.skipped if not m.endswith(f": {IGNORED_REASON}")]
    if skipped:
        flash("warning", f"Skipped {len(skipped)}: " + "; ".join(skipped[:20]))
    select_dataset(ds.name)
    if name_field and ds is not current:
        set_later(name_key(*name_field), unique_dataset_name(name_field[1]))
    st.rerun()


def target_inputs(key: str, base: str, current: Dataset | None, latest: dict[str, str]) -> tuple[str, bool]:
    """The new dataset's name (a free one derived from `base`) and "add to the chosen one instead"."""
    k = name_key(key, base)
    if k not in st.session_state:
        st.session_state[k] = unique_dataset_name(base)
    name = st.text_input(
        "New dataset name",
        key=k,
        help="Letters, digits, - and _ (anything else becomes _). A name in use is refused.",
    ).strip()
    add = current is not None and st.checkbox(
        f"Add to {dataset_label(current.name, latest)} instead", key=f"{key}_add"
    )
    if not name and not add:
        st.caption(":red[Type a name for the new dataset.]")
    return name, add


def name_key(key: str, base: str) -> str:
    """The Session State key of target_inputs' name field."""
    return f"{key}_name_{base}"


def edit(ds: Dataset, rels: list[str], action: Callable[[str], object], message: str) -> None:
    """Apply a review edit to each file, clear their selection, report and rerun."""
    done = 0
    try:
        for rel in rels:
            action(rel)
            done += 1
            st.session_state.pop(f"ds_sel::{rel}", None)
    except MaskStudioError as exc:
        if done:
            flash("success", message.format(n=done))
        show_error(exc, f"Stopped after {done} of {len(rels)}: " if done else "")
        return
    flash("success", message.format(n=len(rels)))
    st.rerun()
