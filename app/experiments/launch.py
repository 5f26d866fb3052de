"""Experiments page, Launch section: dataset version, models, sweep grid, estimate, start."""

from __future__ import annotations

import streamlit as st

from app.widgets.common import flash, literal, show_error
from core.data.manifest import find_manifest, list_versions
from core.errors import MaskStudioError
from core.runs.config import SWEEP_LIMIT
from core.runs.experiments import (
    SEED_SWEEPS,
    SWEEP_CHOICES,
    SWEEP_KEYS,
    estimate_seconds,
    sweep_configs,
    sweep_count,
)
from core.runs.pretrained import unavailable_reason
from core.runs.recipes import RunPlan, plan_run
from core.runs.store import list_runs
from core.training.worker import enqueue, resume_queue
from models.registry import DEFAULT_MODEL, MODELS, get_spec, pretrained_names

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


def _trainable_models() -> list[str]:
    """The model families that can train here; says in plain words why a pretrained one cannot."""
    offered = []
    for m in MODELS:
        reason = unavailable_reason(m) if get_spec(m).backbone is not None else None
        if reason is None:
            offered.append(m)
        else:
            st.warning(literal(f"{MODELS[m].title} is not offered. {reason}"), icon=":material/warning:")
    return offered


def launch_section() -> None:
    try:
        resume_queue()  # runs left queued by a worker that was killed carry on (the Queue does this too)
    except (MaskStudioError, OSError) as exc:
        show_error(exc)
    version = dataset_version_picker("exp_version")
    offered = _trainable_models()
    kept = [m for m in st.session_state.get("_keep_exp_models", [DEFAULT_MODEL]) if m in offered]
    models = st.multiselect(
        "Models",
        offered,
        default=kept,
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
    count = sweep_count(models, axes)
    if count > SWEEP_LIMIT:  # said before anything is expanded or queued
        st.markdown(f"**{count:,} run(s)**: over the limit of {SWEEP_LIMIT} runs per sweep.")
    try:
        configs = sweep_configs(models, version, axes, {"seed": int(seed), "name": name.strip(), **recipe})
        plans = [plan_run(c) for c in configs]
        train_n = len(find_manifest(version)[0].split_files("train"))
    except MaskStudioError as exc:
        show_error(exc)
        return
    show_plan_notes(plans)
    records = list_runs()
    estimates = [estimate_seconds(p.config, train_n, records) for p in plans]
    total = sum(e for e, _ in estimates)
    measured = all(m for _, m in estimates)
    basis = (
        "from runs measured on this machine"
        if measured
        else "partly a rough guess: no finished run of some model yet"
    )
    st.markdown(
        f"**{len(configs)} run(s)** (at most {SWEEP_LIMIT} per sweep), estimated **{_duration(total)}** "
        f"({basis}; {train_n} training images)."
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
    "auto": "for this dataset (default)",
    "none": "none",
    "balanced": "balanced: every class weighs the same",
    "source_balanced": "source-balanced: every (source, class) cell weighs the same",
}
AUTO = "auto"
WARM_STARTS = {
    "auto": "the starter model (default)",
    "none": "the ImageNet base, new head",
}


def recipe_inputs() -> dict[str, object]:
    """Recipe options; "for this dataset" leaves a key to core.runs.recipes (what the command
    line gets too). {} = every default."""
    out: dict[str, object] = {}
    with st.expander("Recipe: warm start, loss weights, degraded copies, fine-tuning"):
        st.caption(
            "Left at their defaults, these are chosen for the dataset version (the notes below say "
            "what and why; docs/scenes.md says how they were measured)."
        )
        c0, c1, c2, c3 = st.columns(4)
        warm = c0.selectbox(
            "A pretrained model starts from", list(WARM_STARTS), format_func=WARM_STARTS.get, key="exp_warm"
        )
        weight = c1.selectbox("Loss weights", list(WEIGHTINGS), format_func=WEIGHTINGS.get, key="exp_weights")
        copies = c2.selectbox(
            "Degraded copies per image",
            [AUTO, *range(9)],
            format_func=lambda v: "for this dataset (default)" if v == AUTO else str(v),
            key="exp_degrade",
            help="Each copy is the image shrunk to 12-48 px and back, blurred, or JPEG-compressed",
        )
        most = max((b.blocks for m in pretrained_names() if (b := get_spec(m).backbone)), default=0)
        blocks = c3.selectbox(
            "Pretrained: fine-tune top blocks",
            [AUTO, *range(most + 1)],
            format_func=lambda v: "for this dataset (default)" if v == AUTO else str(v),
            key="exp_ft_blocks",
            help="After the head: unfreeze the top N blocks and train 8 epochs at 1e-4 "
            "(the default for 3 classes or more: 6 blocks; slow on a CPU)",
        )
        if warm != AUTO:
            out["warm_start"] = warm
        if weight != AUTO:
            out["class_weight"] = weight
        if copies != AUTO:
            out.update({"degrade": "lowres+blur+jpeg" if copies else "", "degrade_copies": int(copies)})
        if blocks != AUTO:
            out.update(
                {
                    "fine_tune_blocks": int(blocks),
                    "fine_tune_epochs": 8 if blocks else 0,
                    "fine_tune_learning_rate": 1e-4,
                }
            )
    return out


def show_plan_notes(plans: list[RunPlan]) -> None:
    """What the defaults chose for this dataset, each sentence once (plain text)."""
    seen: list[str] = []
    for plan in plans:
        seen += [n for n in plan.notes if n not in seen]
    if seen:
        st.info("\n\n".join(literal(n) for n in seen), icon=":material/tune:")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
