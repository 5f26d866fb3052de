"""Shared fixtures: a temporary workspace, the shared real data, an offline Keras cache, and a
per-run cache folder that pytest-xdist workers share."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from core.live.rtc import preload_srtp
from tests.disk_cache import TEST_CACHE_ENV

# Before any test imports TensorFlow: aiortc's SRTP library must bind to its own OpenSSL
# (see core.live.rtc.preload_srtp), whatever order the tests run in.
preload_srtp()

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
    # no starter model unless a test gives one: pages then behave as on a bare install
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(tmp_path / "no-starter"))
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (real public datasets; never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


def _seed_keras_home() -> Path:
    """A temporary KERAS_HOME whose models/ cache holds the MobileNetV2 ImageNet weights.

    Keras reads KERAS_HOME once, when it is first imported, so this runs when conftest is
    loaded, before any test module imports keras; worker subprocesses inherit the variable.
    """
    home = Path(tempfile.mkdtemp(prefix="mask-studio-keras-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "models").mkdir()
    if MOBILENET_WEIGHTS.is_file():
        os.symlink(MOBILENET_WEIGHTS, home / "models" / MOBILENET_WEIGHTS.name)
    os.environ["KERAS_HOME"] = str(home)
    return home


KERAS_HOME = _seed_keras_home()


def _shared_test_cache() -> Path:
    """One temporary folder per test run, shared by the pytest-xdist workers, where fixtures
    cache what is slow to make (tests.tiny_models keys each entry by its content).

    The first process to load this file (the xdist controller, or the only process) makes it and
    removes it at exit; the workers it starts inherit MASK_STUDIO_TEST_CACHE.
    """
    given = os.environ.get(TEST_CACHE_ENV)
    if given and Path(given).is_dir():
        return Path(given)
    folder = Path(tempfile.mkdtemp(prefix="mask-studio-test-cache-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ[TEST_CACHE_ENV] = str(folder)
    return folder


TEST_CACHE = _shared_test_cache()


@pytest.fixture(scope="session")
def keras_home() -> Path:
    """The KERAS_HOME seeded for this test session (nothing downloads); fails if the weights are missing."""
    if not (KERAS_HOME / "models" / MOBILENET_WEIGHTS.name).is_file():
        pytest.fail(f"MobileNetV2 weights not found at {MOBILENET_WEIGHTS}")
    return KERAS_HOME


#: Folders whose test files take minutes rather than seconds (a browser, AppTest pages, training).
HEAVY_FOLDERS = ("tests/e2e/", "tests/pages/", "tests/app/", "tests/models/", "tests/core/training/")


def _file_weight(item: pytest.Item) -> int:
    """0 for a browser test file, 1 for another heavy one (HEAVY_FOLDERS or marked slow), 2 else."""
    if item.get_closest_marker("e2e"):
        return 0
    path = Path(str(item.path)).resolve().relative_to(REPO).as_posix()
    return 1 if item.get_closest_marker("slow") or path.startswith(HEAVY_FOLDERS) else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the heavy test files first (each file's tests stay together and in order): with two
    xdist workers the minutes-long files then overlap instead of trailing at the end of the run."""
    weights: dict[Path, int] = {}
    for item in items:
        key = Path(str(item.path))
        weights[key] = min(weights.get(key, 2), _file_weight(item))
    order = {item.nodeid: i for i, item in enumerate(items)}
    items.sort(key=lambda it: (weights[Path(str(it.path))], order[it.nodeid]))
