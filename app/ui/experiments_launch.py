"""Experiments page, Launch section: dataset version, models, sweep grid, estimate, start."""

from __future__ import annotations

import streamlit as st

from app.ui.common import flash, show_error
from core.data.manifest import find_manifest, list_versions
from core.errors import MaskStudioError
from core.runs.experiments import SEED_SWEEPS, SWEEP_CHOICES, SWEEP_KEYS, estimate_seconds, sweep_configs
from core.runs.store import list_runs
from core.training.worker import enqueue
from models.registry import MODELS, get_spec

LABELS = {
    "batch_size": "Batch size",
    "neurons": "Neurons (dense layer)",
    "dropout": "Dropout",
    "epochs": "Epochs",
    "loss": "Loss",
    "image_size": "Image size (px)",
    "augment": "Augmentation",
    "learning_rate": "Learning rate",
}


def _fmt(key: str, value: object) -> str:
    if key == "augment":
        return "on" if value else "off"
    if key == "loss":
        return {"categorical_crossentropy": "categorical cross-entropy", "mean_squared_error": "MSE"}.get(
            str(value), "MSLE" if value == "mean_squared_logarithmic_error" else str(value)
        )
    return str(value)


def dataset_version_picker(key: str) -> str | None:
    """Choose a dataset version; its id is shown with the dataset name and split sizes."""
    versions = list_versions()
    if not versions:
        st.info("No dataset version yet: build a dataset and split it on the **Datasets** page.")
        return None

    def label(v: tuple[str, str]) -> str:
        try:
            m = find_manifest(v[1])[0]
            n = {s: len(m.split_files(s)) for s in ("train", "val", "test")}
            return f"{v[0]} · version {v[1]} · {len(m.classes)} classes · train/val/test {n['train']}/{n['val']}/{n['test']}"
        except MaskStudioError:
            return f"{v[0]} · version {v[1]} (unreadable)"

    picked = st.selectbox("Dataset version", versions, format_func=label, key=key)
    return picked[1] if picked else None


def launch_section() -> None:
    version = dataset_version_picker("exp_version")
    models = st.multiselect(
        "Models",
        list(MODELS),
        default=st.session_state.get("_keep_exp_models", ["mobilenet_v2"]),
        format_func=lambda m: MODELS[m].title,
        key="exp_models",
    )
    st.session_state["_keep_exp_models"] = models
    with st.expander("Model defaults (used where a sweep axis is left empty)"):
        st.dataframe([{"model": m, **get_spec(m).defaults} for m in MODELS], hide_index=True, width="stretch")
    st.markdown("**Sweep grid**: pick values to sweep; leave an axis empty for the model's default.")
    c_seed = st.columns(len(SEED_SWEEPS))
    for col, (title, axes) in zip(c_seed, SEED_SWEEPS.items(), strict=True):
        if col.button(title, key=f"preset-{title}", width="stretch"):
            for k in SWEEP_KEYS:
                st.session_state[f"_keep_sweep_{k}"] = list(axes.get(k, []))
                st.session_state.pop(f"sweep_{k}", None)
            st.rerun()
    axes: dict[str, list] = {}
    cols = st.columns(4)
    for i, k in enumerate(SWEEP_KEYS):
        axes[k] = cols[i % 4].multiselect(
            LABELS[k],
            SWEEP_CHOICES[k],
            default=st.session_state.get(f"_keep_sweep_{k}", []),
            format_func=lambda v, k=k: _fmt(k, v),
            key=f"sweep_{k}",
        )
        st.session_state[f"_keep_sweep_{k}"] = axes[k]
    recipe = recipe_inputs()
    seed = st.number_input("Seed", 0, 2**31 - 1, 42, key="exp_seed")
    name = st.text_input("Name prefix (optional)", key="exp_name")
    if not version or not models:
        st.caption("Choose a dataset version and at least one model.")
        return
    try:
        configs = sweep_configs(models, version, axes, {"seed": int(seed), "name": name.strip(), **recipe})
        train_n = len(find_manifest(version)[0].split_files("train"))
    except MaskStudioError as exc:
        show_error(exc)
        return
    records = list_runs()
    estimates = [estimate_seconds(c, train_n, records) for c in configs]
    total = sum(e for e, _ in estimates)
    measured = all(m for _, m in estimates)
    basis = (
        "from runs measured on this machine"
        if measured
        else "partly a rough guess: no finished run of some model yet"
    )
    st.markdown(
        f"**{len(configs)} run(s)**, estimated **{_duration(total)}** ({basis}; {train_n} training images)."
    )
    if st.button(f"Start {len(configs)} run(s)", type="primary", key="exp_start"):
        try:
            ids = [enqueue(c) for c in configs]
        except MaskStudioError as exc:
            show_error(exc)
            return
        flash(
            "success",
            f"Queued {len(ids)} run(s). Follow them in the Queue tab; leaving the page does not stop them.",
        )
        st.rerun()


WEIGHTINGS = {
    "none": "none",
    "balanced": "balanced: every class weighs the same",
    "source_balanced": "source-balanced: every (source, class) cell weighs the same",
}


def recipe_inputs() -> dict[str, object]:
    """Training options for models that must hold on scenes (docs/scenes.md); {} = defaults."""
    out: dict[str, object] = {}
    with st.expander("Scene recipe: loss weights, degraded copies, fine-tuning"):
        st.caption(
            "What made models hold on whole photos, measured with the Scene test "
            "(docs/scenes.md). The starter model uses source-balanced weights and one degraded copy."
        )
        c1, c2, c3 = st.columns(3)
        weight = c1.selectbox("Loss weights", list(WEIGHTINGS), format_func=WEIGHTINGS.get, key="exp_weights")
        copies = c2.number_input(
            "Degraded copies per image",
            0,
            8,
            0,
            key="exp_degrade",
            help="Each copy is the image shrunk to 12-48 px and back, blurred, or JPEG-compressed",
        )
        blocks = c3.number_input(
            "MobileNetV2: fine-tune top blocks",
            0,
            17,
            0,
            key="exp_ft_blocks",
            help="After the head: unfreeze the top N blocks and train 8 epochs at 1e-4 "
            "(6 blocks reached macro-F1 0.914 on the 5-class set; slow on a CPU)",
        )
        if weight != "none":
            out["class_weight"] = weight
        if copies:
            out.update({"degrade": "lowres+blur+jpeg", "degrade_copies": int(copies)})
        if blocks:
            out.update(
                {"fine_tune_blocks": int(blocks), "fine_tune_epochs": 8, "fine_tune_learning_rate": 1e-4}
            )
    return out


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
