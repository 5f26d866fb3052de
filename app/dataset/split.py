"""Split: a stratified, group-aware train/validation/test manifest; its hash is the dataset
version id that experiments name."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.dataset.common import progress
from app.widgets import charts
from app.widgets.common import flash, show_error
from core.data.dataset import Dataset
from core.data.fingerprints import scan_files
from core.data.manifest import Manifest
from core.data.split import dataset_versions, latest_manifest, manifest_changes, split_dataset
from core.errors import MaskStudioError

SPLIT_LABELS = {"train": "Train %", "val": "Validation %", "test": "Test %"}
DEFAULT_PERCENT = {"train": 70, "val": 15, "test": 15}


def split_section(ds: Dataset) -> None:
    st.caption(
        "Stratified per class; near-duplicate groups (and exact copies) always land on one side, "
        "so no picture is in train and test at once. The split is saved as a manifest whose hash "
        "is the **dataset version id**: the same files, labels and seed always give the same id."
    )
    cols = st.columns(4)
    percent = {
        s: int(cols[i].number_input(label, 0, 100, DEFAULT_PERCENT[s], key=f"ds_sp_{s}"))
        for i, (s, label) in enumerate(SPLIT_LABELS.items())
    }
    seed = int(cols[3].number_input("Seed", 0, 2**31 - 1, 0, key="ds_sp_seed"))
    total = sum(percent.values())
    if total != 100:
        st.caption(f":red[Train + validation + test make {total} %; they must add up to 100 %.]")
    if st.button("Make split", key="ds_sp_go", type="primary"):
        make_split(ds, percent, seed)
    manifest = latest_manifest(ds)
    if manifest is None:
        st.info("Not split yet: experiments need a dataset version.")
        return
    show_manifest(ds, manifest)


def make_split(ds: Dataset, percent: dict[str, int], seed: int) -> None:
    total = sum(percent.values())
    if total != 100:
        st.error(
            f"Not split: train + validation + test must add up to 100 % (now {total} %).",
            icon=":material/error:",
        )
        return
    if percent["train"] == 0:
        st.error("Not split: the train share must be above 0 %.", icon=":material/error:")
        return
    fractions = {s: p / 100 for s, p in percent.items()}
    try:
        with progress("Reading files") as update:
            result = split_dataset(ds, seed=seed, fractions=fractions, progress=update)
    except MaskStudioError as exc:
        show_error(exc, "Not split: ")
        return
    flash("success", f"Dataset version {result.manifest.version} saved ({len(result.manifest.files)} files).")
    if result.skipped:
        flash("warning", f"Left out {len(result.skipped)} unreadable file(s).")
    st.rerun()


def show_manifest(ds: Dataset, manifest: Manifest) -> None:
    st.subheader(f"Version {manifest.version}")
    counts = manifest.counts()
    table = pd.DataFrame(counts).T
    table["total"] = table.sum(axis=1)
    table.index = [SPLIT_LABELS[s].removesuffix(" %") for s in table.index]
    left, right = st.columns([2, 3])
    left.dataframe(table, key="ds_sp_counts")
    grouped = {f.group for f in manifest.files if f.group >= 0}
    percent = " / ".join(f"{round(100 * manifest.fractions[s])}" for s in SPLIT_LABELS)
    left.caption(
        f"{len(manifest.files)} files · {percent} % · seed {manifest.seed} · "
        f"{len(grouped)} near-duplicate groups kept whole · saved as `.splits/{manifest.version}.json`"
    )
    older = dataset_versions(ds)[1:]
    if older:
        left.caption("Earlier versions: " + ", ".join(f"`{v}`" for v in older[:10]))
    right.plotly_chart(charts.split_counts_figure(counts), key="ds_sp_chart")
    changes = manifest_changes(manifest, scan_files(ds.root, ds.all_files()))
    if any(changes.values()):
        st.warning(
            f"Files changed since version {manifest.version} ({len(changes['added'])} added, "
            f"{len(changes['removed'])} removed, {len(changes['changed'])} changed): make a new split."
        )
