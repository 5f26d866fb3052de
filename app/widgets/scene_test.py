"""The scene test, shared by Experiments (its Scene test section) and Annotate (Review: the model
before and after a retrain): models scored on whole photos through the Predict pipeline
(core.inference.scenes), with the class mapping and leak check first, and the results (table,
charts, the photos with the most errors, opened in the annotator) kept in session state.

Leaked photos are refused unless "evaluate anyway" is ticked (then the figures are marked as
leaked). Each model scored without leaks keeps its found-and-right as its last scene figure
(core.runs.scene_figures), shown beside its name on Predict and Live and when it is made active.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from app.widgets.common import literal, show_error
from app.widgets.scene_charts import draw_scene, error_summary, scene_figure, scene_rows
from app.widgets.scene_review import open_in_annotator
from core.errors import MaskStudioError
from core.inference.scene_sets import SceneError, SceneSet, check_mapping, default_mapping
from core.inference.scenes import (
    ModelEntry,
    ModelScore,
    evaluate_models,
    leaked_photos,
    model_entry,
    record_scores,
)

LEAVE_OUT = "(leave out)"
RESULT_KEY = "scene_result"
WORST_PHOTOS = 6


@dataclass
class SceneResult:
    """One evaluation, kept in session state: the scores and what they were computed on."""

    scene_set: SceneSet
    scores: list[ModelScore]
    detector: str
    allow_leaks: bool
    token: str = field(default_factory=lambda: f"{time.time_ns()}")

    def to_dict(self) -> dict:
        s = self.scene_set
        return {
            "scene_set": {
                "name": s.name,
                "kind": s.kind,
                "source": s.source,
                "photos": len(s.scenes),
                "faces": s.faces,
                "classes": s.classes,
                "skipped": list(s.skipped),
            },
            "detector": self.detector,
            "allow_leaks": self.allow_leaks,
            "models": [score.to_dict() for score in self.scores],
        }


@st.cache_data(max_entries=8, show_spinner=False)
def _hashes(files: tuple[tuple[str, str, int, int], ...]) -> dict[str, str]:
    """{photo name: sha256}, hashed again only when a file's mtime or size changes."""
    from core.data.provenance import sha256_file

    return {name: sha256_file(path) for name, path, _, _ in files}


def photo_hashes(scene_set: SceneSet) -> dict[str, str]:
    files = []
    for s in scene_set.scenes:
        stat = s.path.stat()
        files.append((s.name, str(s.path), stat.st_mtime_ns, stat.st_size))
    return _hashes(tuple(files))


def mapping_from_table(table: pd.DataFrame) -> dict[str, str | None]:
    """{scene class: model class or None} from the edited mapping table."""
    out: dict[str, str | None] = {}
    for cls, target in zip(table["scene class"], table["model class"], strict=True):
        out[str(cls)] = None if target in (None, "", LEAVE_OUT) or pd.isna(target) else str(target)
    return out


def _mapping(entry: ModelEntry, scene_set: SceneSet) -> dict[str, str | None]:
    """The default mapping, shown as an editable table when the classes differ."""
    classes = scene_set.classes
    default = default_mapping(classes, entry.labels)
    if set(classes) <= set(entry.labels):
        st.caption(f"Scene classes match the model's ({literal(', '.join(entry.labels))}).")
        return default
    table = pd.DataFrame(
        {
            "scene class": list(classes),
            "faces": list(classes.values()),
            "model class": [default[c] or LEAVE_OUT for c in classes],
        }
    )
    st.caption(
        f"Scene classes differ from the model's ({literal(', '.join(entry.labels))}): map each scene "
        f"class to a model class, or leave it out."
    )
    edited = st.data_editor(
        table,
        column_config={
            "model class": st.column_config.SelectboxColumn(options=[*entry.labels, LEAVE_OUT], required=True)
        },
        disabled=["scene class", "faces"],
        hide_index=True,
        key=f"scene_map:{entry.ref}:{scene_set.kind}:{scene_set.source}",
    )
    return mapping_from_table(edited)


@dataclass
class Plan:
    refs: list[str]
    mappings: dict[str, dict[str, str | None]]
    ready: list[str]  # refs that can be scored with the leak choice made
    leaked: dict[str, list[str]]


def _plan(refs: Sequence[str], scene_set: SceneSet) -> Plan:
    """Per model: its mapping (checked) and its leak check; what can be scored."""
    plan = Plan([], {}, [], {})
    hashes = photo_hashes(scene_set)
    for ref in refs:
        try:
            entry = model_entry(ref)
        except MaskStudioError as exc:
            show_error(exc, f"{ref} cannot be scored: ")
            continue
        st.markdown(f"**{literal(entry.name)}**")
        mapping = _mapping(entry, scene_set)
        plan.refs.append(ref)
        plan.mappings[ref] = mapping
        try:
            check_mapping(mapping, scene_set, entry.labels)
        except SceneError as exc:
            show_error(exc, f"{entry.name}: ")
            continue
        leaks = leaked_photos(scene_set, entry, hashes)
        if leaks:
            plan.leaked[ref] = leaks
            st.error(
                f"**Leak:** {literal(entry.name)} learned from {len(leaks)} of these {len(scene_set.scenes)} "
                f"photos ({literal(', '.join(leaks[:5]))}{', …' if len(leaks) > 5 else ''}): its "
                "scene figures would be too good. Choose photos it never saw.",
                icon=":material/warning:",
            )
        elif not entry.trained_photos:
            st.caption(
                "No source photos are recorded for this model's training data: the leak check cannot "
                "tell whether it saw these photos."
            )
        plan.ready.append(ref)
    return plan


def run_scene_test(refs: Sequence[str], scene_set: SceneSet, detector: str) -> None:
    """The mapping and leak check of `refs` on `scene_set`, a button to run the test, and its result
    stored under RESULT_KEY (show it with show_result)."""
    with st.expander("Class mapping and leak check", expanded=True):
        plan = _plan(refs, scene_set)
    allow = False
    if plan.leaked:
        allow = st.checkbox(
            "Evaluate anyway (the leaked models' figures are marked as leaked)", key="scene_allow_leaks"
        )
    runnable = [r for r in plan.ready if allow or r not in plan.leaked]
    if plan.leaked and not allow:
        st.caption("Models that learned from these photos are refused unless you tick the box above.")
    if not st.button("Run the scene test", type="primary", disabled=not runnable, key="scene_run"):
        return
    bar = st.progress(0.0, text="Loading the models…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Scored {done} of {total} photos")

    try:
        with st.spinner("Scoring the photos (the detector runs once per photo)…"):
            scores = evaluate_models(
                runnable,
                scene_set,
                detector=detector,
                mappings={r: plan.mappings[r] for r in runnable},
                allow_leaks=allow,
                progress=progress,
            )
    except (MaskStudioError, OSError) as exc:  # e.g. a photo deleted meanwhile
        bar.empty()
        show_error(exc, "The scene test stopped: ")
        return
    bar.empty()
    record_scores(scores, scene_set)  # each model's last scene figure, shown on Predict and Live
    st.session_state[RESULT_KEY] = SceneResult(scene_set, scores, detector, allow)


# ----- results ------------------------------------------------------------------------------
def show_result(result: SceneResult) -> None:
    s = result.scene_set
    st.subheader("Scene test results")
    st.caption(
        f"{literal(s.name)} ({s.kind}): {len(s.scenes)} photos, {s.faces} labelled faces · detector "
        f"{literal(result.detector)}."
    )
    for score in result.scores:
        if score.error:
            st.error(f"{literal(score.entry.name)} was not scored: {literal(score.error)}")
        elif score.leaks:
            st.warning(
                f"{literal(score.entry.name)} is marked **leaked**: it learned from {len(score.leaks)} of these "
                "photos, so its figures are too good.",
                icon=":material/warning:",
            )
    scored = [sc for sc in result.scores if sc.report is not None]
    if not scored:
        return
    st.plotly_chart(
        scene_figure(scored, f"Scene test: {s.name} ({s.faces} faces)", result.allow_leaks), key="scene_chart"
    )
    st.dataframe(
        pd.DataFrame(scene_rows(result.scores, result.allow_leaks)), hide_index=True, key="scene_table"
    )
    st.download_button(
        "Download the report (JSON)",
        json.dumps(result.to_dict(), indent=2).encode("utf-8"),
        "scene_test.json",
        "application/json",
        key="scene_json",
    )
    _worst_photos(result, scored)


@st.cache_data(max_entries=64, show_spinner=False)
def _drawn(token: str, ref: str, name: str, _result: SceneResult) -> bytes:
    from core.imaging import load_image

    score = next(sc for sc in _result.scores if sc.entry.ref == ref)
    photo = next(p for p in score.report.photos if p.name == name)
    image = draw_scene(load_image(photo.path), photo)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def _worst_photos(result: SceneResult, scored: Sequence[ModelScore]) -> None:
    st.markdown("#### Photos with the most errors")
    names = {sc.entry.ref: sc.entry.name for sc in scored}
    ref = st.selectbox("For the model", list(names), format_func=names.__getitem__, key="scene_worst_model")
    score = next(sc for sc in scored if sc.entry.ref == ref)
    photos = score.report.worst_photos(WORST_PHOTOS)
    if not photos:
        st.success("No errors on any photo.")
        return
    st.caption(
        "Boxes in class colours are the model's answers (amber: uncertain), with the true class "
        "under a wrong one; white dashed boxes are labelled faces it missed."
    )
    cols = st.columns(2)
    for i, photo in enumerate(photos):
        with cols[i % 2]:
            try:
                st.image(_drawn(result.token, ref, photo.name, result), width="stretch")
            except (MaskStudioError, OSError) as exc:
                show_error(exc, f"{photo.name} cannot be drawn: ")
            st.caption(f"{literal(photo.name)}: {photo.errors} error(s): {error_summary(photo)}")
            if st.button("Open in the annotator", key=f"scene_open:{ref}:{photo.name}"):
                open_in_annotator(result.scene_set, photo)
