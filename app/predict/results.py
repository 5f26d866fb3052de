"""Predict's main area: the images to look at, each drawn with its numbered faces beside the
list of their labels, the results table with its CSV, and "Send to annotator" (the data
flywheel).

Uploaded photos are kept in the session (KEPT_KEY) so Predict's work survives a page switch:
"Send to annotator" opens the annotator, and back on Predict the same photos and results are
there until other photos are uploaded or "Clear" is pressed."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from app.widgets.common import ANNOTATE_PAGE, flash, literal, show_error
from app.widgets.draw import MAX_SIDE, draw_faces
from app.widgets.target_project import ProjectTarget, unlabelled
from core.errors import ImageLoadError, MaskStudioError
from core.imaging import IMAGE_EXTENSIONS, load_image_within
from core.inference.predict_io import folder_images, image_folders, predict_photo, send_to_annotator
from core.inference.predictor import FACE, UNCERTAIN, FrameResult, Predictor, result_rows
from core.overlay import caption, class_colours

UPLOAD_TYPES = [e.lstrip(".") for e in IMAGE_EXTENSIONS]
MAX_IMAGES = 200
#: The uploader's widget key (Streamlit drops a widget's state when another page runs).
UPLOAD_KEY = "pred_images"
#: The last uploaded photos ([Item]), kept across page switches.
KEPT_KEY = "pred_kept"
#: True while the kept photos are shown in place of an (emptied) uploader.
SHOWING_KEPT_KEY = "pred_showing_kept"


@dataclass(frozen=True)
class Item:
    """One input image: its name, bytes and a digest (the cache key)."""

    name: str
    data: bytes
    digest: str


def _item(name: str, data: bytes) -> Item:
    return Item(name, data, hashlib.sha256(data).hexdigest())


def choose_images() -> list[Item]:
    """Uploaded images, or the images of a workspace folder (at most MAX_IMAGES)."""
    source = st.radio("Images from", ["Upload", "Workspace folder"], horizontal=True, key="pred_input")
    if source == "Upload":
        items = _uploaded()
    else:
        folders = image_folders()
        if not folders:
            st.info("No workspace folder holds images yet: upload images instead.")
            return []
        c1, c2 = st.columns([3, 1])
        folder = c1.selectbox("Workspace folder", folders, key="pred_folder")
        limit = c2.number_input("Images (at most)", 1, MAX_IMAGES, 24, key="pred_folder_limit")
        try:
            paths = folder_images(folder)
        except MaskStudioError as exc:
            show_error(exc)
            return []
        items = [_item(p.name, p.read_bytes()) for p in paths[: int(limit)]]
        if len(paths) > len(items):
            st.caption(f"Showing the first {len(items)} of {len(paths)} images in {literal(folder)}.")
    if len(items) > MAX_IMAGES:
        st.warning(f"Only the first {MAX_IMAGES} images are processed.")
    return items[:MAX_IMAGES]


def _uploaded() -> list[Item]:
    """The uploaded photos; when the uploader comes back empty from another page (its state is
    gone), the photos kept from before, with a way to clear them."""
    returning = UPLOAD_KEY not in st.session_state  # first run here since another page ran
    files = st.file_uploader(
        "Images", type=UPLOAD_TYPES, accept_multiple_files=True, key=UPLOAD_KEY,
        help="One or many photos; nothing is stored unless you send one to the annotator.",
    )  # fmt: skip
    items = [_item(f.name, f.getvalue()) for f in files or []]
    kept: list[Item] = st.session_state.get(KEPT_KEY) or []
    if items:
        st.session_state[KEPT_KEY] = items
        st.session_state[SHOWING_KEPT_KEY] = False
        return items
    if kept and (returning or st.session_state.get(SHOWING_KEPT_KEY)):
        st.session_state[SHOWING_KEPT_KEY] = True
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.caption(f"Showing the {len(kept)} photo(s) you uploaded before; upload others to replace them.")
        if right.button("Clear", key="pred_clear_kept", help="Forget these photos and their results"):
            st.session_state.pop(KEPT_KEY, None)
            st.session_state[SHOWING_KEPT_KEY] = False
            st.rerun()
        return kept
    st.session_state.pop(KEPT_KEY, None)  # the user removed the photos from the uploader
    return []


@st.cache_data(max_entries=512, show_spinner=False)
def _predict(model_key: str, detector: str, digest: str, _data: bytes, _predictor: Predictor) -> FrameResult:
    """The faces of one image at threshold 0 (relabelled for the slider later), cached; found on a
    copy of bounded size, boxes in the image's own pixels (core.inference.predict_io.predict_photo)."""
    return predict_photo(_predictor, _data)


def _faces_key(result: FrameResult) -> str:
    """What the drawing depends on: boxes, labels and confidences."""
    return repr([(f.xyxy, f.label, round(f.confidence, 2)) for f in result.faces])


@st.cache_data(max_entries=256, show_spinner=False)
def _drawn(digest: str, faces_key: str, _data: bytes, _result: FrameResult) -> bytes:
    """The image with its faces drawn, as JPEG bytes (cached: a slider move redraws only what changed)."""
    buf = io.BytesIO()
    image, _size = load_image_within(_data, MAX_SIDE * MAX_SIDE)  # drawn at most MAX_SIDE px long
    faces = _result.scaled_to(image.width, image.height).faces
    draw_faces(image, faces).save(buf, format="JPEG", quality=90, subsampling=0)
    return buf.getvalue()


def predict_all(items: Sequence[Item], predictor: Predictor, model_key: str, detector: str) -> list:
    """[(item, FrameResult | error text naming the image)] for every image, with a progress bar."""
    out = []
    bar = st.progress(0.0, text="Finding faces…") if len(items) > 1 else None
    for i, item in enumerate(items):
        try:
            out.append((item, _predict(model_key, detector, item.digest, item.data, predictor)))
        except ImageLoadError as exc:  # its source is "<upload>": name the image instead
            out.append((item, f"{item.name}: {exc.reason}"))
        except MaskStudioError as exc:
            out.append((item, f"{item.name}: {exc}"))
        if bar is not None:
            bar.progress((i + 1) / len(items), text=f"Finding faces… {i + 1}/{len(items)}")
    if bar is not None:
        bar.empty()
    return out


def legend(labels: Sequence[str]) -> None:
    """Coloured chips for the classes, uncertain and face."""
    colours = class_colours([*labels, UNCERTAIN] if labels else [FACE])
    chips = " ".join(
        f'<span style="background:{c};color:white;padding:1px 8px;border-radius:4px">{literal(n)}</span>'
        for n, c in colours.items()
    )
    st.markdown(f"Colours: {chips}", unsafe_allow_html=True)


def show_results(
    results: list, labels: Sequence[str], threshold: float, target: ProjectTarget | None
) -> list:
    """Each image with its faces; returns [(name, FrameResult at the threshold)] for the table."""
    table = []
    for item, result in results:
        st.divider()
        if isinstance(result, str):
            st.error(literal(result))
            continue
        result = result.with_threshold(threshold)
        table.append((item.name, result))
        left, right = st.columns([3, 2])
        left.image(_drawn(item.digest, _faces_key(result), item.data, result), caption=literal(item.name))
        with right:
            st.markdown(f"**{literal(item.name)}** · {result.width}×{result.height} px")
            if not result.faces:
                st.info("No face found.")
            else:
                counts = ", ".join(f"{n} {literal(k)}" for k, n in result.counts().items())
                st.markdown(f"**{len(result.faces)} face(s):** {counts}")
                st.markdown("\n".join(f"{i}. {literal(caption(f))}" for i, f in enumerate(result.faces, 1)))
            st.caption(f"detect {result.detect_ms:.0f} ms · classify {result.classify_ms:.0f} ms")
            if target is not None and st.button(
                "Send to annotator",
                key=f"send:{item.digest}",
                help="Add this image and its boxes to a project",
            ):
                send(target, item, result)
    return table


def results_table(table: list, labels: Sequence[str]) -> None:
    """All faces of all images in one table, downloadable as CSV."""
    rows = result_rows(table, labels)
    if not rows:
        return
    st.subheader("Results")
    df = pd.DataFrame(rows)
    st.dataframe(df, hide_index=True, width="stretch")
    st.download_button(
        "Download CSV", df.to_csv(index=False).encode("utf-8"), "predictions.csv", "text/csv", key="pred_csv"
    )


def send(target: ProjectTarget, item: Item, result: FrameResult) -> None:
    """Store the image with its predicted boxes in the sidebar's project, then open it in the annotator."""
    try:
        project = target.open()
        if project is None:
            return
        report = send_to_annotator(
            project, item.name, item.data, result.faces, add_categories=target.add_categories
        )
    except MaskStudioError as exc:
        show_error(exc, "Not sent: ")
        return
    target.saved_into(report.project)
    flash("success", f"Sent {report.image} to project {report.project}: {report.added} box(es) added.")
    for msg in report.refused:
        flash("warning", f"Not added: {msg}")
    if unknown := unlabelled(report.mapping):
        flash("info", f"Labelled 'None' (no such category): {', '.join(unknown)}.")
    try:
        st.switch_page(ANNOTATE_PAGE, query_params={"project": report.project, "image": report.image})
    except StreamlitAPIException:  # the annotator is not a page of this app (tests)
        st.success(literal(f"Sent to project {report.project}; open it on the Annotate page."))
