"""The workspace folder: projects, datasets and runs live under one root.

The root comes from the MASK_STUDIO_WORKSPACE environment variable (default ./workspace) and
is created on first use. Nothing is ever written outside it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_VAR = "MASK_STUDIO_WORKSPACE"
DEFAULT = "workspace"


def workspace_root(create: bool = True) -> Path:
    """The workspace folder, absolute; created when `create` is true."""
    root = Path(os.environ.get(ENV_VAR) or DEFAULT).expanduser().resolve()
    if create:
        root.mkdir(parents=True, exist_ok=True)
    return root


def projects_dir(root: Path | None = None) -> Path:
    return (root or workspace_root()) / "projects"


def datasets_dir(root: Path | None = None) -> Path:
    return (root or workspace_root()) / "datasets"


def runs_dir(root: Path | None = None) -> Path:
    return (root or workspace_root()) / "runs"


_TEMP_LOCK = threading.Lock()


@contextmanager
def workspace_temp_dir(root: Path | None = None) -> Iterator[Path]:
    """A temporary folder under <workspace>/cache/tmp, removed afterwards.

    While it is open, Python's `tempfile` also defaults there, so libraries that make their own
    temporary files (Keras' LiteRT export writes a SavedModel) stay inside the workspace too.
    One at a time: the default is process-wide.
    """
    base = (root or workspace_root()) / "cache" / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    with _TEMP_LOCK:
        previous = tempfile.tempdir
        tempfile.tempdir = str(base)
        try:
            with tempfile.TemporaryDirectory(prefix="mask-studio-", dir=base) as tmp:
                yield Path(tmp)
        finally:
            tempfile.tempdir = previous
