"""The workspace folder: projects, datasets and runs live under one root.

The root comes from the MASK_STUDIO_WORKSPACE environment variable (default ./workspace) and
is created on first use. Nothing is ever written outside it.
"""

from __future__ import annotations

import os
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
