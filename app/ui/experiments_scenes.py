"""Experiments page, "Scene test" tab: finished runs (and the starter model) scored on whole
photos through the Predict pipeline (core.inference.scenes), side by side with their crop test metrics.

Pick the models, the scenes (a project with labelled boxes, or a Pascal VOC folder) and the
detector; map scene classes to each model's classes where they differ; leaked photos are refused
unless "evaluate anyway" is ticked (then the figures are marked as leaked). The result stays in
session state, so it survives reruns, and the photos with the most errors open in the annotator.
Each model scored without leaks keeps its found-and-right as its last scene figure
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

from app.ui.common import literal, show_error
from app.ui.faces import detector_choice
from app.ui.model_picker import run_option
from app.ui.scene_charts import draw_scene, error_summary, scene_figure, scene_rows
from app.ui.scene_review import open_in_annotator
from core.errors import MaskStudioError
from core.inference.scene_sets import (
    SceneError,
    SceneSet,
    check_mapping,
    default_mapping,
    load_scene_set,
    scene_sources,
)
from core.inference.scenes import (
    STARTER,
    ModelEntry,
    ModelScore,
    evaluate_models,
    leaked_photos,
    model_entry,
    record_scores,
)
from core.runs.active_model import finished_runs, get_active
from core.runs.starter import starter_status
from core.vision.detectors import DEFAULT_PREDICT_DETECTOR

PROJECT, VOC = "A project with labelled boxes", "A Pascal VOC folder"
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


# ----- choices ------------------------------------------------------------------------------
def _choose_models() -> list[str]:
    runs = finished_runs()
    options = {r.run_id: run_option(r, "crop test acc") for r in runs}
    status = starter_status()
    if status.available:
        options[STARTER] = "Starter model"
    if not options:
        st.info("No finished run yet, and the starter model is not available: train a run in the Launch tab.")
        return []
    active = get_active()
    default = [active] if active in options else [r.run_id for r in runs[:1]]
    default += [STARTER] if STARTER in options else []
    refs = st.multiselect(
        "Models to score",
        list(options),
        default=default,
        format_func=options.__getitem__,
        key="scene_models",
        help="Finished runs, and the starter model shipped with the app.",
    )
    if not status.available:
        st.caption(f"The starter model is not available: {literal(status.reason or 'unknown reason')}.")
    return refs


def _choose_scenes() -> SceneSet | None:
    kind = st.radio("Scenes from", [PROJECT, VOC], horizontal=True, key="scene_kind")
    if kind == PROJECT:
        sources = scene_sources()
        if not sources:
            st.info(
                "No project has labelled boxes yet: label some faces on the Annotate page, "
                "or choose a Pascal VOC folder."
            )
            return None
        source = st.selectbox("Project", sources, key="scene_project")
    else:
        source = st.text_input(
            "VOC folder (XML annotations and their images, anywhere under it)",
            key="scene_voc",
            placeholder="/data/face_mask_detection_voc",
        ).strip()
        if not source:
            st.info("Type the path of a Pascal VOC folder.")
            return None
    try:
        scene_set = load_scene_set(source)
    except MaskStudioError as exc:
        show_error(exc, "These scenes cannot be used: ")
        return None
    classes = ", ".join(f"{literal(c)} {n}" for c, n in scene_set.classes.items())
    st.caption(f"{len(scene_set.scenes)} photos, {scene_set.faces} labelled faces ({classes}).")
    if scene_set.skipped:
        st.warning(literal(f"{len(scene_set.skipped)} photo(s) skipped: {'; '.join(scene_set.skipped[:5])}"))
        if len(scene_set.skipped) > 5:
            with st.expander("Every skipped photo"):
                st.text("\n".join(scene_set.skipped))
    return scene_set


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


# ----- the section --------------------------------------------------------------------------
def scene_section() -> None:
    st.caption(
        "Scores models on whole photos, as Predict sees them: detector, square crop, classifier, "
        "threshold; faces matched to the labelled boxes at IoU ≥ 0.5. Crop test accuracy alone "
        "says little about real photos."
    )
    refs = _choose_models()
    scene_set = _choose_scenes()
    detector = detector_choice("scene_detector", DEFAULT_PREDICT_DETECTOR)
    if refs and scene_set is not None:
        _evaluate(refs, scene_set, detector)
    result = st.session_state.get(RESULT_KEY)
    if isinstance(result, SceneResult):
        show_result(result)


def _evaluate(refs: Sequence[str], scene_set: SceneSet, detector: str) -> None:
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
