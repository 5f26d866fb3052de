"""Augmentation preview: the trainer's own Keras preprocessing layers run on a few samples."""

from __future__ import annotations

import streamlit as st

from app.dataset.common import GRID
from core.data.dataset import Dataset

FLIPS = ["horizontal", "vertical", "horizontal_and_vertical", "none"]
STRENGTHS = {
    "rotation": "Fraction of a full turn: 0.05 is up to ±18°.",
    "zoom": "Fraction of the image side.",
    "translation": "Fraction of the image side.",
    "contrast": "Contrast factor range: 0.2 is 0.8×…1.2×.",
}
SAMPLES = 4
VARIANTS = GRID - 1


def augmentation_section(ds: Dataset) -> None:
    from models.augmentation import DEFAULTS

    st.caption(
        "The trainer's own Keras preprocessing layers (`models/augmentation.py`), run on a few "
        "random images: what training sees. Each row: the original, then augmented copies."
    )
    if not ds.all_files():
        st.info("This dataset has no images in class folders yet.")
        return
    c = st.columns(6)
    flip = c[0].selectbox(
        "Flip", FLIPS, index=FLIPS.index(str(DEFAULTS["flip"] or "none")), key="ds_aug_flip"
    )
    opts = {
        k: c[i + 1].number_input(
            k.capitalize(), 0.0, 0.5, float(DEFAULTS[k]), 0.01, key=f"ds_aug_{k}", help=help_text
        )
        for i, (k, help_text) in enumerate(STRENGTHS.items())
    }
    seed = int(c[5].number_input("Seed", 0, 10_000, 0, key="ds_aug_seed", help="Which samples and draws."))
    if not st.button("Show augmented samples", key="ds_aug_go"):
        return
    preview(ds, None if flip == "none" else flip, opts, seed)


def preview(ds: Dataset, flip: str | None, opts: dict[str, float], seed: int) -> None:
    from core.data.augment_preview import augment_samples, sample_images

    samples = sample_images(ds, SAMPLES, seed=seed)
    if not samples:
        st.warning("No readable image to show.")
        return
    images = [img for _, img in samples]
    with st.spinner("Running the augmentation layers…"):
        out = augment_samples(images, variants=VARIANTS, seed=seed, flip=flip, **opts)
    for (rel, original), variants in zip(samples, out, strict=True):
        cols = st.columns(GRID)
        cols[0].image(original, caption=f"original · {rel.split('/', 1)[0]}")
        for col, img in zip(cols[1:], variants, strict=False):
            col.image(img)
