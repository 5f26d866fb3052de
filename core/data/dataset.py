"""Folder datasets in the workspace: one sub-folder per class, the layout Keras reads.

    <workspace>/datasets/<name>/<label>/<file>      one class per folder
    <workspace>/datasets/<name>/.unlabelled/<file>  auto-crops waiting for review (not a class)
    <workspace>/datasets/<name>/.splits/<version>.json  split manifests (core.data.manifest)
    <workspace>/datasets/<name>/.hashes.json        hash cache (core.data.fingerprints)
    <workspace>/datasets/<name>/.autocrop.json      raw photos already auto-cropped

`keras.utils.image_dataset_from_directory` skips folders whose name starts with ".", so the
folder reads as a plain Keras class-folder dataset.
Label names become safe folder names (`no mask` -> `no_mask`); a label can never become a
hidden or reserved folder. Nothing is written outside the workspace.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from core.errors import DatasetError
from core.fsutil import ensure_inside, natural_key, natural_sorted, safe_name
from core.imaging import is_image_name
from core.locking import LOCK_FILE
from core.workspace import datasets_dir, existing_folder, new_folder

UNLABELLED = ".unlabelled"

T = TypeVar("T")


def label_folder(label: str) -> str:
    """The safe class-folder name of a label (never hidden: leading dots are dropped).

    A label with neither letters nor digits (an emoji) gets its code points, `class_1f637`,
    so two such labels do not share a folder.
    """
    folder = safe_name(label, fallback="")
    if folder:
        return folder
    points = "-".join(f"{ord(c):x}" for c in str(label) if not c.isspace() and c not in "./\\")
    return f"class_{points}"[:100] if points else "unnamed"


def shared_folders(labels: Iterable[str]) -> dict[str, list[str]]:
    """{folder: labels} for every class folder that two or more distinct labels map to."""
    by_folder: dict[str, list[str]] = {}
    for label in labels:
        names = by_folder.setdefault(label_folder(label), [])
        if label not in names:
            names.append(label)
    return {f: names for f, names in by_folder.items() if len(names) > 1}


def shared_folders_message(labels: Iterable[str], *, what: str = "categories") -> str | None:
    """What refuse_shared_folders would say (the mapping), or None when every label has its own folder."""
    shared = shared_folders(labels)
    if not shared:
        return None
    mapping = "; ".join(
        ", ".join(repr(n) for n in names) + f" -> folder {folder!r}" for folder, names in shared.items()
    )
    return (
        f"These {what} would merge into one class folder: {mapping}. Rename them so each has "
        "its own folder name (letters, digits, '-', '_'), or merge them on purpose first."
    )


def refuse_shared_folders(labels: Iterable[str], *, what: str = "categories") -> None:
    """Raise DatasetError, showing the mapping, when distinct labels would merge into one folder."""
    message = shared_folders_message(labels, what=what)
    if message:
        raise DatasetError(message)


def list_datasets(root: Path | None = None) -> list[str]:
    """Names of the datasets in the workspace, in natural order."""
    base = datasets_dir(root)
    if not base.is_dir():
        return []
    return natural_sorted([p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")])


def unique_dataset_name(name: str, root: Path | None = None) -> str:
    """`name` as a safe folder name, numbered (`faces_2`) if a dataset of that name exists."""
    base = safe_name(name, fallback="dataset")
    taken = set(list_datasets(root))
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def unique_file(folder: Path, filename: str) -> Path:
    """`folder/filename`, or `folder/<stem>-2<ext>`, `-3`, ... when the name is taken."""
    target = folder / filename
    stem, ext = os.path.splitext(filename)
    n = 2
    while target.exists():
        target = folder / f"{stem}-{n}{ext}"
        n += 1
    return target


def paginate(items: Sequence[T], page: int, per_page: int) -> tuple[list[T], int, int]:
    """(items on `page`, the page actually shown, number of pages); pages count from 0."""
    per_page = max(1, int(per_page))
    pages = max(1, -(-len(items) // per_page))
    page = min(max(int(page), 0), pages - 1)
    return list(items[page * per_page : (page + 1) * per_page]), page, pages


class Dataset:
    """One dataset folder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.root = Path(path).resolve()
        self.name = self.root.name

    # ----- creation -------------------------------------------------------------------
    @classmethod
    def create(cls, name: str, root: Path | None = None) -> Dataset:
        """A new, empty dataset. Raises WorkspaceError if one of that (safe) name exists."""

        def hint(folder: str) -> str:
            return f"pick another name (for example {unique_dataset_name(folder, root)!r})"

        path = new_folder(datasets_dir(root), name, "dataset", taken_hint=hint)
        path.mkdir(parents=True)
        return cls(path)

    @classmethod
    def open(cls, name: str, root: Path | None = None) -> Dataset:
        return cls(existing_folder(datasets_dir(root), name, "dataset"))

    # ----- paths ----------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        """Absolute path of a dataset-relative POSIX path, checked to stay inside."""
        return ensure_inside(self.root, self.root / rel)

    def label_dir(self, label: str) -> Path:
        """The folder of a class (not created), from a label name."""
        return ensure_inside(self.root, self.root / label_folder(label))

    @property
    def workspace(self) -> Path:
        """The workspace root the dataset lives in (<workspace>/datasets/<name>)."""
        return self.root.parent.parent

    @property
    def unlabelled_dir(self) -> Path:
        return self.root / UNLABELLED

    # ----- listing --------------------------------------------------------------------
    def classes(self) -> list[str]:
        """Class folder names in natural order (hidden and reserved folders excluded)."""
        if not self.root.is_dir():
            return []
        return natural_sorted(
            [p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
        )

    def files(self, label: str) -> list[str]:
        """Image files of one class (or UNLABELLED) as dataset-relative paths, natural order."""
        folder = self.root / label if label == UNLABELLED else self.label_dir(label)
        if not folder.is_dir():
            return []
        names = [
            p.name
            for p in folder.iterdir()
            if p.is_file() and is_image_name(p.name) and not p.name.startswith(".")
        ]
        return [f"{folder.name}/{n}" for n in sorted(names, key=natural_key)]

    def all_files(self) -> list[tuple[str, str]]:
        """(relative path, class) for every image of every class."""
        return [(rel, c) for c in self.classes() for rel in self.files(c)]

    def counts(self) -> dict[str, int]:
        """{class: number of images}."""
        return {c: len(self.files(c)) for c in self.classes()}

    def unlabelled(self) -> list[str]:
        return self.files(UNLABELLED)

    # ----- review edits ---------------------------------------------------------------
    def _existing(self, rel: str) -> Path:
        path = self.path(rel)
        if path.parent == self.root or not path.is_file() or not is_image_name(path.name):
            raise DatasetError(f"no image {rel!r} in dataset {self.name!r}")
        return path

    def move(self, rel: str, label: str) -> str:
        """Move an image to another class (created if new). Returns its new relative path."""
        src = self._existing(rel)
        folder = self.label_dir(label)
        if src.parent == folder:
            return rel
        folder.mkdir(exist_ok=True)
        target = unique_file(folder, src.name)
        os.replace(src, target)
        self._drop_if_empty(src.parent)
        return f"{folder.name}/{target.name}"

    def delete(self, rel: str) -> None:
        """Delete an image; a class folder left empty is removed (Keras would read it as a class)."""
        path = self._existing(rel)
        path.unlink()
        self._drop_if_empty(path.parent)

    def remove_if_empty(self) -> bool:
        """Delete the dataset folder if it holds no file at all (an aborted build). True if deleted.

        The lock file (core.locking) does not count.
        """
        if not self.root.is_dir() or any(p.is_file() and p.name != LOCK_FILE for p in self.root.rglob("*")):
            return False
        shutil.rmtree(self.root)
        return True

    def _drop_if_empty(self, folder: Path) -> None:
        if folder != self.root and folder.name != UNLABELLED and not any(folder.iterdir()):
            folder.rmdir()
