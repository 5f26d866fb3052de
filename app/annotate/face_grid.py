"""The face grid beside the canvas: every box of the open image as an enlarged crop, labelled
with keys in the browser (st.components.v2, face_grid.js / face_grid.css in this folder, no
build step, nothing fetched).

The browser applies each key at once and sends batches; `receive` runs as the component's
callback, at the start of the rerun a batch triggers, and applies it under the project lock by
box id (core.annotation.labelling). Each batch has a sequence number per grid; the grid is
told which it has received (`acked`), and sends the others again, so a batch is never lost
and never applied twice. The crops are made once per image and set of boxes (cached).

`mount` and `receive` serve any grid whose operations are applied elsewhere (the Review
section's queue, app/annotate/review_queue.py), with the same batches, sequence numbers and acks.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st
from PIL import Image

from core.annotation.annotations import NONE, Annotations
from core.annotation.labelling import LabelOp, apply_ops, parse_ops
from core.annotation.projects import Project
from core.errors import MaskStudioError
from core.imaging import load_image
from core.overlay import class_hex

HERE = Path(__file__).parent
CROP_PX = 96  # a crop's longer side in the grid (small faces are enlarged to it)
CROP_MARGIN = 0.25  # context around the box, as a share of its size on each side
ACKED = "face_grid_acked"  # {grid key: {client: last batch seq applied}}
REFUSED = "face_grid_refused"  # {grid key: [messages of the last batch]}
SELECTED = "face_grid_selected"  # {grid key: the selected box id}

_GRID = st.components.v2.component(
    "face_grid",
    css=(HERE / "face_grid.css").read_text(encoding="utf-8"),
    js=(HERE / "face_grid.js").read_text(encoding="utf-8"),
    isolate_styles=False,
)


def crop_box(img: Image.Image, xyxy: tuple[int, int, int, int], size: int = CROP_PX) -> Image.Image:
    """The box with some context around it, scaled so its longer side is `size` px."""
    x1, y1, x2, y2 = xyxy
    mx, my = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
    left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
    right, bottom = min(img.width, int(x2 + mx + 0.999)), min(img.height, int(y2 + my + 0.999))
    crop = img.crop((left, top, max(right, left + 1), max(bottom, top + 1)))
    scale = size / max(crop.width, crop.height)
    return crop.resize(
        (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.Resampling.LANCZOS
    )


@st.cache_data(max_entries=32, show_spinner=False)
def crop_urls(path: str, mtime: float, boxes: tuple[tuple[int, int, int, int], ...]) -> list[str]:
    """A JPEG data URL per box (the image is read once for all of them)."""
    img = load_image(path)
    out = []
    for xyxy in boxes:
        buf = io.BytesIO()
        crop_box(img, xyxy).save(buf, format="JPEG", quality=85)
        out.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
    return out


def grid_key(project: Project, image: str) -> str:
    return f"facegrid-{project.name}-{image}"


def key_categories(categories: list[str]) -> list[dict[str, Any]]:
    """The categories the keys give: 1-9 the first nine after "None", 0 "None"."""
    numbered = [c for c in categories if c != NONE][:9]
    keyed = [(n, c) for n, c in enumerate(numbered, 1)] + [(0, NONE)]
    return [{"key": n, "name": c, "color": class_hex(c)} for n, c in keyed]


def grid_data(project: Project, image: str, ann: Annotations, rev: str) -> dict[str, Any]:
    """What the grid shows: the boxes (id, number, label, crop), the key map, what it sent that
    was applied, and the messages of refused operations."""
    key = grid_key(project, image)
    boxes = ann.boxes(image)
    path = project.image_path(image)
    urls = crop_urls(str(path), path.stat().st_mtime, tuple(b.xyxy for b in boxes)) if boxes else []
    return {
        "key": key,
        "image": image,
        "rev": rev,
        "boxes": [
            {"id": b.id, "n": i + 1, "label": b.label, "crop": url}
            for i, (b, url) in enumerate(zip(boxes, urls, strict=True))
        ],
        "categories": key_categories(ann.categories),
        "acked": st.session_state.get(ACKED, {}).get(key, {}),
        "refused": st.session_state.get(REFUSED, {}).get(key, []),
        "selected": st.session_state.get(SELECTED, {}).get(key),
    }


def receive(key: str, apply: Callable[[list[LabelOp]], list[str]]) -> None:
    """Give `apply` the operations of grid `key`'s last send not applied yet, in order, and
    record them as applied; `apply` returns the messages of the operations it refused (shown
    in the grid). Runs as the component's callback; with nothing new it does nothing."""
    sent = (st.session_state.get(key) or {}).get("batch")
    if not isinstance(sent, dict) or not isinstance(sent.get("client"), str):
        return
    client = sent["client"][:40]
    acked = st.session_state.setdefault(ACKED, {}).setdefault(key, {})
    if isinstance(sent.get("selected"), str):
        st.session_state.setdefault(SELECTED, {})[key] = sent["selected"]
    done = acked.get(client, 0)
    batches = [b for b in sent.get("batches") or [] if isinstance(b, dict)]
    fresh = [b for b in batches if isinstance(b.get("seq"), int) and b["seq"] > done]
    if not fresh:
        return
    ops = [op for b in sorted(fresh, key=lambda b: b["seq"]) for op in parse_ops(b.get("ops"))]
    refused = apply(ops)
    acked[client] = max(b["seq"] for b in fresh)
    st.session_state.setdefault(REFUSED, {})[key] = refused


def _apply_to_image(project_name: str, image: str, ops: list[LabelOp]) -> list[str]:
    """The Annotate grid's operations applied to `image` under the project lock, by box id."""
    try:
        with Project.open(project_name).edit() as saved:
            return apply_ops(saved, image, ops).refused
    except MaskStudioError as exc:
        return [f"Not saved: {exc}"]


def mount(key: str, data: dict[str, Any], apply: Callable[[list[LabelOp]], list[str]]) -> None:
    """Mount a grid keyed `key` on `data` (grid_data's shape; with "review" its faces carry a
    guess, a badge and a context thumbnail) whose operations go to `apply` (see `receive`).
    `data` gets the grid's acked batches, refusals and selection."""
    data = {
        **data,
        "key": key,
        "acked": st.session_state.get(ACKED, {}).get(key, {}),
        "refused": st.session_state.get(REFUSED, {}).get(key, []),
        "selected": st.session_state.get(SELECTED, {}).get(key),
    }
    _GRID(key=key, data=data, on_batch_change=partial(receive, key, apply), height="content")


def selected_box(project: Project, image: str) -> str | None:
    """The id of the box selected in the grid (as of its last send)."""
    return st.session_state.get(SELECTED, {}).get(grid_key(project, image))


def face_grid(project: Project, image: str, ann: Annotations, rev: str) -> None:
    """Mount the grid for `image` (`ann`: the annotations this run shows, `rev` their revision);
    refused operations are said in the grid itself (as plain text)."""
    key = grid_key(project, image)
    mount(key, grid_data(project, image, ann, rev), partial(_apply_to_image, project.name, image))
