"""Shared fixtures: a temporary workspace, the shared real data, an offline Keras cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
MOBILENET_WEIGHTS = (
    SHARED_DATA
    / "weights"
    / "mobilenet_v2_imagenet_no_top"
    / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace folder, set as MASK_STUDIO_WORKSPACE for the test."""
    root = tmp_path / "workspace"
    root.mkdir()
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(root))
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (real public datasets; never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def keras_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KERAS_HOME whose cache holds the MobileNetV2 ImageNet weights, so nothing downloads."""
    home = tmp_path_factory.mktemp("keras_home")
    (home / "models").mkdir()
    shutil.copy(MOBILENET_WEIGHTS, home / "models" / MOBILENET_WEIGHTS.name)
    os.environ["KERAS_HOME"] = str(home)
    return home
