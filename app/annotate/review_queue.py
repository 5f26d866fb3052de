"""The Annotate page's Review section: label first the faces the model is least sure of.

Choose where the faces come from (a project, an image folder, Live snapshots, Predict sends),
the model that ranks them (the active model by default) and the project the labels go to
(nothing is written anywhere else: core.review.apply). The queue (core.review.queue) is built
on request and kept on disk; when the model it was scored with changed (another active model,
a retrained file) it is scored again at once, keeping the reviews made, and the section says
why. Its faces are shown a page at a time in the face grid's review mode (app/annotate/face_grid.py):
the model's guess preselected, Enter accepts it, 1-9 pick a class, X marks "not a face", a
badge says why each face is queued, and a thumbnail of its photo shows where it is. The
grid's batches are applied by the queue's face keys (the face's project box id inside it).
"""

from __future__ import annotations

import base64
import io
import os
import threading
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st
from PIL import Image, ImageDraw

from app.annotate.face_grid import crop_box, key_categories, mount
from app.annotate.review_retrain import retrain_panel
from app.widgets.common import act, literal, show_error
from app.widgets.model_picker import run_option
from app.widgets.models import run_classifier, starter_model
from core.annotation.annotations import NONE
from core.annotation.labelling import LabelOp
from core.annotation.projects import Project, list_projects
from core.errors import MaskStudioError
from core.imaging import load_image
from core.review.apply import ACCEPT, LABEL, NOT_FACE, Review, apply_reviews, undo_reviews
from core.review.queue import ACTIVE, Queue, build_queue, load_queue, progress, queue_is_stale
from core.review.ranking import QueueEntry, check_classes, default_model_ref
from core.review.sources import ReviewError, Source, available_sources
from core.runs.active_model import finished_runs, get_active
from core.runs.starter import STARTER_ID, starter_status

KINDS = {
    "project": "A project",
    "folder": "An image folder",
    "snapshots": "Live snapshots",
    "sends": "Predict sends",
}
#: Faces shown in the grid at once.
PAGE = 24
CONTEXT_PX = (200, 120)  # the photo thumbnail's largest size
RESCORED = "rq_rescored"  # {source key: (built_at, why it was scored again)}
PAGE_KEY = "rq_page"
TARGET_PARAM = "to"  # the URL parameter naming the chosen target project
LAST_PENDING = "rq_last_pending"  # {grid key: faces pending on it at the last run}
_APPLYING = threading.Lock()  # one batch of answers at a time in this server


# ----- choices ------------------------------------------------------------------------------
def choose_source(open_project: Project) -> Source | None:
    """The source picked (None, after saying why, when it is not usable yet)."""
    kind = st.radio("Faces from", list(KINDS), format_func=KINDS.__getitem__, horizontal=True, key="rq_kind")
    if kind == "project":
        names = list_projects()
        if open_project.name in names and st.session_state.get("rq_source_project") not in names:
            st.session_state["rq_source_project"] = open_project.name
        name = st.selectbox("Project to review", names, key="rq_source_project")
        return Source("project", name) if name else None
    if kind == "folder":
        text = st.text_input(
            "Image folder (its path on this computer)", key="rq_folder", placeholder="/data/photos"
        ).strip()
        if not text:
            st.info("Type the path of a folder of photos.")
            return None
        path = Path(text).expanduser()
        if not path.is_dir():
            show_error(ReviewError(f"no folder {text!r} on this computer"))
            return None
        return Source("folder", str(path.resolve()))
    if Source(kind) not in available_sources():
        st.info(
            "No Live snapshots in any project yet: take some on the Live page."
            if kind == "snapshots"
            else "Nothing sent from Predict yet: its “Send to annotator” makes a predictions-… project."
        )
        return None
    return Source(kind)


def model_options() -> dict[str, str]:
    """{model ref: what the picker shows}: the active model, the starter, the finished runs."""
    active = get_active()
    options = {ACTIVE: f"Active model (run {active})" if active else "Active model (none: the starter)"}
    if starter_status().available:
        options[STARTER_ID] = "Starter model"
    for record in finished_runs():
        options.setdefault(record.run_id, run_option(record))
    return options


def choose_model() -> str:
    """ACTIVE (whatever model is active when the queue is scored), "starter" or a run id."""
    options = model_options()
    return st.selectbox(
        "Model that ranks the faces",
        list(options),
        format_func=options.__getitem__,
        key="rq_model",
        help="The active model by default: a queue scored with it is scored again when it changes.",
    )


def choose_target() -> str | None:
    """The project the labels land in: always chosen by the person (no default); kept in the
    URL (?to=...) so a reload comes back to it."""
    names = list_projects()
    if st.session_state.get("rq_target") not in names:
        st.session_state.pop("rq_target", None)
        if st.query_params.get(TARGET_PARAM) in names:
            st.session_state["rq_target"] = st.query_params[TARGET_PARAM]
    target = st.selectbox(
        "Labels go to project",
        names,
        index=None,
        key="rq_target",
        placeholder="Choose a project",
        help="Reviewed faces land only in this project, as human labels marked reviewed. A face "
        "from elsewhere brings its photo along; 'not a face' writes nothing there.",
    )
    if target is not None and st.query_params.get(TARGET_PARAM) != target:
        st.query_params[TARGET_PARAM] = target
    return target


# ----- the queue ------------------------------------------------------------------------------
def _build(source: Source, model: str, why: str | None = None) -> Queue | None:
    """Score `source` again with `model` (keeping its reviews); None after showing the error."""
    try:
        with st.spinner(f"Finding and scoring the faces of {literal(source.describe())}…"):
            ref = default_model_ref() if model == ACTIVE else model
            classifier = starter_model() if ref == STARTER_ID else run_classifier(ref)  # cached
            queue = build_queue(source, None if model == ACTIVE else model, classifier=classifier)
    except (MaskStudioError, OSError) as exc:
        show_error(exc, "No queue: ")
        return None
    if why:
        st.session_state.setdefault(RESCORED, {})[source.key] = (queue.built_at, why)
    return queue


def current(source: Source, model: str) -> Queue | None:
    """The saved queue of `source` (scored again first when its model changed), or None."""
    queue = load_queue(source)
    rebuild = st.button(
        "Build the queue" if queue is None else "Refresh the queue",
        key="rq_build",
        type="primary" if queue is None else "secondary",
        help="Find the faces and score them with the model; reviews already made are kept.",
    )
    if rebuild:
        return _build(source, model) or queue
    if queue is None:
        st.info(f"No queue for {literal(source.describe())} yet: **Build the queue** ranks its faces.")
        return None
    if queue.model_ref != model:
        st.info(
            f"This queue was scored with {literal(queue.model.run_id)}: **Refresh the queue** to rank "
            "it with the model chosen above."
        )
    elif (why := queue_is_stale(queue)) is not None:
        st.warning(literal(f"The queue is out of date: {why}. Scoring it again…"), icon=":material/update:")
        queue = _build(source, model, why) or queue
    return queue


def show_progress(queue: Queue) -> None:
    prog = progress(queue)
    total = prog.reviewed + prog.remaining
    c1, c2, c3 = st.columns(3)
    c1.metric("Reviewed", prog.reviewed)
    c2.metric("Remaining", prog.remaining)
    if prog.accuracy is None:
        c3.metric("Model accuracy (random share)", "–", help="Review some faces marked “random” first.")
    else:
        acc, half = prog.accuracy
        c3.metric(
            "Model accuracy (random share)",
            f"{acc:.0%} ± {half:.0%}",
            help="From the faces drawn at random (a fair sample of all faces), 95% Wilson interval.",
        )
    st.progress(prog.reviewed / max(total, 1))
    rescored = st.session_state.get(RESCORED, {}).get(queue.source.key)
    why = f" Scored again because {rescored[1]}." if rescored and rescored[0] == queue.built_at else ""
    st.caption(
        literal(
            f"{total} faces, ranked with {queue.model.run_id} ({_when(queue.built_at)}); "
            f"{prog.random_reviewed} random face(s) reviewed.{why}"
        )
    )
    if queue.skipped:
        with st.expander(f"{len(queue.skipped)} photo(s) could not be read"):
            st.text("\n".join(queue.skipped))
    for note in queue.notes:
        st.caption(literal(note))


# ----- the grid -------------------------------------------------------------------------------
def _data_url(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@st.cache_data(max_entries=64, show_spinner=False)
def face_images(path: str, mtime: float, boxes: tuple[tuple[float, ...], ...]) -> list[tuple[str, str]]:
    """(crop, photo thumbnail with the box drawn) data URLs per box; the photo is read once."""
    img = load_image(path)
    scale = min(CONTEXT_PX[0] / img.width, CONTEXT_PX[1] / img.height, 1.0)
    small = img.convert("RGB").resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
    out = []
    for xyxy in boxes:
        box = tuple(int(round(v)) for v in xyxy)
        thumb = small.copy()
        x1, y1, x2, y2 = (v * scale for v in box)
        ImageDraw.Draw(thumb).rectangle((x1 - 1, y1 - 1, x2 + 1, y2 + 1), outline=(255, 214, 0), width=2)
        out.append((_data_url(crop_box(img, box)), _data_url(thumb)))
    return out


def grid_faces(entries: list[tuple[int, QueueEntry]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The grid's faces (numbered by queue place) and a message per photo that cannot be shown."""
    by_image: dict[str, list[tuple[int, QueueEntry]]] = {}
    for item in entries:
        by_image.setdefault(item[1].image, []).append(item)
    shown: dict[str, dict[str, Any]] = {}
    problems = []
    for path, items in by_image.items():
        try:
            urls = face_images(path, os.stat(path).st_mtime, tuple(tuple(e.xyxy) for _, e in items))
        except (MaskStudioError, OSError) as exc:
            problems.append(f"{os.path.basename(path)}: {exc}")
            continue
        for (n, e), (crop, context) in zip(items, urls, strict=True):
            review = e.review or {}
            shown[e.key] = {
                "id": e.key,
                "n": n,
                "label": review.get("label") if e.review else "",
                "reviewed": e.review is not None,
                "guess": e.guess,
                "confidence": f"{e.confidence:.0%}",
                "badge": " · ".join(e.why),
                "crop": crop,
                "context": context,
            }
    return [shown[e.key] for _, e in entries if e.key in shown], problems


def apply_ops(source: Source, target: str, ops: list[LabelOp]) -> list[str]:
    """The grid's answers applied to `target` by face key (the grid's callback); the messages
    of refused ones. A label equal to the guess accepts it; no label is "not a face"."""
    with _APPLYING:  # two batches at once (two tabs, a resend) must not save the queue over each other
        return _apply_locked(source, target, ops)


def _apply_locked(source: Source, target: str, ops: list[LabelOp]) -> list[str]:
    queue = load_queue(source)
    if queue is None:
        return ["Not saved: the queue is gone. Build it again."]
    reviews = []
    for op in ops:
        entry = queue.entry(op.box_id)
        if op.label is None:
            reviews.append(Review(op.box_id, NOT_FACE))
        elif entry is not None and op.label == entry.guess:
            reviews.append(Review(op.box_id, ACCEPT))
        else:
            reviews.append(Review(op.box_id, LABEL, op.label))
    try:
        return apply_reviews(queue, reviews, target).refused
    except MaskStudioError as exc:
        return [f"Not saved: {exc}"]


def choose_page(queue: Queue) -> int:
    """The page of the queue shown: the first with faces to review, kept while it has some."""
    pages = max(1, -(-len(queue.entries) // PAGE))
    pending = [sum(e.review is None for e in queue.entries[p * PAGE : (p + 1) * PAGE]) for p in range(pages)]
    key = f"{PAGE_KEY}:{queue.source.key}"
    page = st.session_state.get(key)
    last = st.session_state.setdefault(LAST_PENDING, {})
    # open on the first page with faces to review, and move on when the one shown is done
    if not isinstance(page, int) or page >= pages or (pending[page] == 0 and last.get(key, 0) > 0):
        page = next((p for p, n in enumerate(pending) if n), 0)
    last[key] = pending[page]
    st.session_state[key] = page
    if pages > 1:
        c_prev, c_text, c_next = st.columns([1, 3, 1], vertical_alignment="center")
        if c_prev.button("Previous faces", disabled=page == 0, key="rq_prev", width="stretch"):
            st.session_state[key] = page - 1
            st.session_state[LAST_PENDING][key] = 0
            st.rerun()
        if c_next.button("Next faces", disabled=page == pages - 1, key="rq_next", width="stretch"):
            st.session_state[key] = page + 1
            st.session_state[LAST_PENDING][key] = 0
            st.rerun()
        c_text.caption(
            f"Faces {page * PAGE + 1}–{min((page + 1) * PAGE, len(queue.entries))} of {len(queue.entries)}"
        )
    return page


def review_grid(queue: Queue, target: str) -> None:
    """The face grid on the page of the queue shown, its answers going to `target`."""
    cats = [c for c in Project.open(target).load().categories if c != NONE] or list(queue.model.labels)
    page = choose_page(queue)
    start = page * PAGE
    faces, problems = grid_faces(list(enumerate(queue.entries[start : start + PAGE], start + 1)))
    for msg in problems:
        st.warning(literal(f"Not shown: {msg}"))
    categories = [c for c in key_categories(cats) if c["name"] != NONE]
    data = {
        "image": f"{queue.source.key}:{page}",
        "rev": queue.built_at,
        "review": True,
        "boxes": faces,
        "categories": categories,
        "empty": "No face on this page.",
    }
    mount(f"rq-{queue.source.key}-{page}", data, partial(apply_ops, queue.source, target))
    st.caption(
        "Click a face (or use the arrows), then **Enter** accepts the model's guess, **1–9** pick a "
        "class, **X** marks “not a face”. Each answer is saved at once."
    )


# ----- the section ----------------------------------------------------------------------------
def review_section(open_project: Project) -> None:
    """The Review section (`open_project`: the project open in the sidebar)."""
    c_source, c_model, c_target = st.columns([3, 2, 2])
    with c_source:
        source = choose_source(open_project)
    with c_model:
        model = choose_model()
    with c_target:
        target = choose_target()
    if source is None:
        return
    queue = current(source, model)
    if queue is None:
        return
    show_progress(queue)
    if target is None:
        st.info("Choose the project the labels go to (above, right) to start reviewing.")
        return
    try:
        check_classes(queue.model.labels, Project.open(target).load().categories, target)
    except (ReviewError, MaskStudioError) as exc:
        show_error(exc, "Nothing can be saved there: ")
        return
    review_grid(queue, target)
    if st.button(
        "Undo my last answers", key="rq_undo", help="Takes back the last batch saved in that project."
    ):
        act(lambda: undo_reviews(queue, target), lambda n: f"{n} answer(s) taken back.")
    retrain_panel(queue, target)


def _when(iso: str) -> str:
    """An ISO time as the person reads it: "2026-12-07 06:02" (UTC), or the text as it is."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(iso)
