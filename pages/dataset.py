"""Datasets: build face-crop datasets, review them, check their health, split them, preview augmentation.

Thin: the dataset picker, the section switch and a call into one section of app/dataset/
(which calls core.data.dataset, core.data.build, core.data.autocrop, core.data.health, core.data.split). The
chosen dataset and section are kept in the URL (?dataset=...&section=...), so a reload comes
back to the same place; every dataset picker shows the latest version id (the split manifest's
hash).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.dataset.augment import augmentation_section
from app.dataset.build import build_section
from app.dataset.common import apply_pending, choose_dataset, latest_versions
from app.dataset.health import health_section
from app.dataset.review import review_section
from app.dataset.split import split_section
from app.widgets.common import section_switch, show_flashes, use_app_navigation
from core.data.dataset import Dataset

use_app_navigation()

SECTION_KEY = "ds_section"
SECTIONS: dict[str, Callable[[Dataset], None]] = {
    "Review": review_section,
    "Health": health_section,
    "Split": split_section,
    "Augmentation": augmentation_section,
}
NAMES = ["Build", *SECTIONS]


def main() -> None:
    apply_pending()
    st.title("Datasets")
    show_flashes()
    latest = latest_versions()
    current = choose_dataset(latest)
    section = section_switch(NAMES, key=SECTION_KEY)
    if section == "Build":
        build_section(current, latest)
    elif current is None:
        st.info("Build a dataset first (section **Build**).")
    else:
        SECTIONS[section](current)


main()
