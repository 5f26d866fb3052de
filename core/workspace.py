"""The workspace folder: projects, datasets and runs live under one root.

The root comes from the MASK_STUDIO_WORKSPACE environment variable (default ./workspace) and
is created on first use. Nothing is ever written outside it. Projects and datasets are folders
directly inside their kind's folder: `new_folder` and `existing_folder` are the one check of a
user-given name for both.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import WorkspaceError
from core.fsutil import ensure_inside, safe_name

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


def new_folder(base: Path, name: str, kind: str, *, taken_hint: Callable[[str], str] | None = None) -> Path:
    """Where a new `kind` ("project", "dataset") named `name` goes: <base>/<safe name>, not yet
    created. WorkspaceError when the name has no letter or digit or the folder exists
    (`taken_hint(safe name)` is added to that message)."""
    folder = safe_name(name, fallback="")
    if not folder:
        raise WorkspaceError(f"a {kind} name needs at least one letter or digit")
    path = ensure_inside(base, base / folder)
    if path.exists():
        hint = f"; {taken_hint(folder)}" if taken_hint is not None else ""
        raise WorkspaceError(f"a {kind} named {folder!r} already exists{hint}")
    return path


def existing_folder(base: Path, name: str, kind: str) -> Path:
    """The existing folder <base>/<name>, resolved; WorkspaceError when `name` is not one folder
    directly inside `base` (a nested path such as a dataset's class folder, `..`, the base
    itself, a file, or nothing)."""
    path = ensure_inside(base, base / name)
    if path.parent != base.resolve() or not path.is_dir():
        raise WorkspaceError(f"no {kind} named {name!r}")
    return path


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
