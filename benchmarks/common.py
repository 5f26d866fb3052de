"""What every benchmark shares: an offline Keras cache and a workspace, set before Keras loads."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()
WEIGHTS = SHARED / "weights" / "mobilenet_v2_imagenet_no_top"


def seed_env(tmp: Path, workspace: Path | None) -> Path:
    """Seed KERAS_HOME from the shared weights and set the workspace; returns the workspace root."""
    keras_home = tmp / "keras"
    (keras_home / "models").mkdir(parents=True)
    for f in WEIGHTS.glob("*.h5"):
        os.symlink(f, keras_home / "models" / f.name)
    root = (workspace or tmp / "workspace").resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {"KERAS_HOME": str(keras_home), "MASK_STUDIO_WORKSPACE": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    return root
