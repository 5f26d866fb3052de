"""Annotation projects on disk: a folder of images plus one seed-layout annotations file.

    <workspace>/projects/<name>/images/<files>
    <workspace>/projects/<name>/annotations.json

Every change is written at once with an atomic rename, so a reload or a crash never loses a
saved box and never leaves a half-written file. Every read-modify-write (`Project.edit`) holds
the project's inter-process lock (core.locking) and re-reads the file under it, so two tabs or
two processes editing one project never lose each other's boxes.

Every saved change is also kept as a version in the project's bounded history
(core.annotation.history), so it can be undone, redone or restored; a deleted image waits there
and a deleted project in the workspace trash (core.annotation.trash). A project deleted while
another tab or process writes to it stays deleted: that writer gets a `ProjectError`, and no
write ever recreates the folder.
"""

from __future__ import annotations

import hashlib
import os
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import chain
from pathlib import Path

from core.annotation.annotations import Annotations
from core.annotation.formats.common import read_file_bytes
from core.annotation.formats.seed_json import dumps_seed_json, load_seed_json, loads_seed_json
from core.annotation.history import History, Version, describe_change
from core.annotation.trash import TrashEntry, move_to_trash, purge_trash
from core.errors import FormatError, ImageLoadError, ProjectError, WorkspaceError
from core.fsutil import atomic_write_bytes, ensure_inside, natural_sorted, safe_name
from core.imaging import IMAGE_EXTENSIONS, image_size, is_image_name, load_image
from core.locking import FolderGone, folder_lock
from core.workspace import existing_folder, new_folder, projects_dir

ANNOTATIONS_FILE = "annotations.json"
#: How many projects' validated annotations `Project.load` keeps (by file content and image list).
PARSED_PROJECTS = 8
_PARSED: dict[Path, tuple[tuple[bytes, tuple[str, ...]], Annotations]] = {}
_PARSED_GUARD = threading.Lock()


def list_projects(root: Path | None = None) -> list[str]:
    """Names of the projects in the workspace, in natural order."""
    base = projects_dir(root)
    if not base.is_dir():
        return []
    return natural_sorted([p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")])


class Project:
    """One annotation project folder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.root = Path(path).resolve()
        self.name = self.root.name
        self.images_dir = self.root / "images"
        self.annotations_path = self.root / ANNOTATIONS_FILE

    # ----- creation -------------------------------------------------------------------
    @classmethod
    def create(cls, name: str, root: Path | None = None) -> Project:
        """A new, empty project. Raises WorkspaceError if one of that name exists."""
        path = new_folder(projects_dir(root), name, "project")
        (path / "images").mkdir(parents=True)
        project = cls(path)
        project.save(Annotations(), "project created")
        return project

    @classmethod
    def open(cls, name: str, root: Path | None = None) -> Project:
        project = cls(existing_folder(projects_dir(root), name, "project"))
        try:
            project.images_dir.mkdir(exist_ok=True)
        except FileNotFoundError as exc:  # deleted since existing_folder looked
            raise ProjectError(f"project {name!r} was deleted") from exc
        return project

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the project's lock; `ProjectError` if the project was deleted (even while waiting)."""
        stack = ExitStack()
        try:
            stack.enter_context(folder_lock(self.root, create=False))
        except FolderGone as exc:
            raise ProjectError(
                f"project {self.name!r} was deleted (in another tab or process); nothing was saved. "
                "It can be restored from the deleted projects."
            ) from exc
        with stack:
            yield

    @property
    def history(self) -> History:
        """The bounded history of annotations.json (change it only under `locked()`)."""
        return History(self.annotations_path, self.images_dir)

    # ----- annotations ----------------------------------------------------------------
    def load(self) -> Annotations:
        """The saved annotations (empty when none are saved yet), a fresh copy the caller may change.

        The file is validated once per content and image list: a rerun that finds both as they
        were reuses that result (the Annotate page loads on every rerun).

        An image key that names no file but matches exactly one of the project's files by
        normalised name (`IMG_1.JPG` for `IMG_1.jpg`, NFD for NFC, `my photo.jpg` for the stored
        `my_photo.jpg`) follows that file, so its boxes show and export.
        """
        if not self.annotations_path.exists():
            return Annotations()
        data = read_file_bytes(self.annotations_path)
        key = (hashlib.sha256(data).digest(), tuple(self.list_images()))
        with _PARSED_GUARD:
            held = _PARSED.get(self.annotations_path)
        if held is None or held[0] != key:
            ann = loads_seed_json(data, file=ANNOTATIONS_FILE).annotations
            attach_to_files(ann, list(key[1]))
            held = (key, ann)
            with _PARSED_GUARD:
                _PARSED.pop(self.annotations_path, None)
                _PARSED[self.annotations_path] = held
                while len(_PARSED) > PARSED_PROJECTS:
                    _PARSED.pop(next(iter(_PARSED)))
        return held[1].copy()

    def save(self, ann: Annotations, summary: str | None = None) -> Version | None:
        """Replace the saved annotations with `ann` (under the project lock), as a new version of
        the history with `summary` (made from the difference when None)."""
        with self.locked():
            if summary is None:
                summary = describe_change(self.load(), ann)
            return self.history.commit(dumps_seed_json(ann), summary)

    @contextmanager
    def edit(self, summary: str | None = None) -> Iterator[Annotations]:
        """Lock, re-read, let the caller change, save atomically if it changed anything, unlock.

        Nothing is saved if the body raises or leaves the annotations as they were (the Annotate
        page runs an edit on every rerun). Another process or thread editing the same project
        waits for the lock and then sees this change.
        """
        with self.locked():
            ann = self.load()
            before = ann.copy()
            yield ann
            if (ann.categories, ann.images, ann.extra) != (before.categories, before.images, before.extra):
                self.save(ann, summary or describe_change(before, ann))

    # ----- history --------------------------------------------------------------------
    def versions(self) -> list[Version]:
        """The kept versions of annotations.json, oldest first."""
        return self.history.versions()

    def undo(self) -> Version:
        """Go back one version (ProjectError when there is none). Returns the version undone."""
        with self.locked():
            return self.history.undo()

    def redo(self) -> Version:
        """Apply the next version again (ProjectError when there is none). Returns it."""
        with self.locked():
            return self.history.redo()

    def restore(self, seq: int) -> Version | None:
        """Make the kept version `seq` the current annotations again (itself undoable)."""
        with self.locked():
            return self.history.restore(seq)

    # ----- images ---------------------------------------------------------------------
    def list_images(self) -> list[str]:
        """Image file names in natural order (IMG_2 before IMG_10)."""
        if not self.images_dir.is_dir():
            return []
        return natural_sorted(
            [
                p.name
                for p in self.images_dir.iterdir()
                if p.is_file() and is_image_name(p.name) and not p.name.startswith(".")
            ]
        )

    def image_path(self, name: str) -> Path:
        try:
            path = ensure_inside(self.images_dir, self.images_dir / name)
            found = path.is_file()
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL, ...
            raise WorkspaceError(f"no usable image file for {name[:80]!r} ({exc})") from exc
        if not found:
            raise WorkspaceError(f"no image {name!r} in project {self.name!r}")
        return path

    def image_size(self, name: str) -> tuple[int, int]:
        """(width, height) of the upright image."""
        return image_size(self.image_path(name))

    def add_image(self, filename: str, data: bytes) -> str:
        """Store an uploaded image after checking it decodes. Returns the stored file name.

        The same bytes uploaded twice are stored once; a different file with a taken name
        gets a numbered name (`photo_1.jpg`).
        """
        load_image(data, name=os.path.basename(filename))  # ImageLoadError naming the upload
        stem, ext = os.path.splitext(os.path.basename(filename))
        ext = ext.lower()
        if ext not in IMAGE_EXTENSIONS:
            raise ImageLoadError(
                filename, f"unsupported extension {ext or '(none)'}; use {', '.join(IMAGE_EXTENSIONS)}"
            )
        base = safe_name(stem, fallback="image")
        digest = hashlib.sha256(data).hexdigest()
        keyed = self._annotation_key_for(os.path.basename(filename))
        # The stored name keeps an annotation's key if one claims the upload, so its boxes attach.
        first = [keyed] if keyed is not None else []
        numbered = (f"{base}_{n}{ext}" for n in range(1, 10_000))
        with self.locked():  # two tabs adding two photos named alike keep both
            for candidate in chain(first, [f"{base}{ext}"], numbered):
                target = self.images_dir / candidate
                if not target.exists():
                    atomic_write_bytes(target, data)
                    return candidate
                if hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                    return candidate
        raise WorkspaceError(f"too many files named like {filename!r}")

    def _annotation_key_for(self, filename: str) -> str | None:
        """The annotation key an uploaded `filename` matches by normalised name, if exactly one
        does and it can be stored as a file name here; else None."""
        if not self.annotations_path.exists():
            return None
        try:
            keys = list(load_seed_json(self.annotations_path).annotations.images)
        except FormatError:
            return None
        wanted = {image_name_key(filename), image_name_key(stored_image_name(filename))}
        found = [
            k for k in keys if image_name_key(k) in wanted or image_name_key(stored_image_name(k)) in wanted
        ]
        if len(found) != 1 or not is_image_name(found[0]) or found[0].startswith("."):
            return None
        try:
            ensure_inside(self.images_dir, self.images_dir / found[0])
        except (WorkspaceError, OSError, ValueError):
            return None
        return found[0]

    def delete_image(self, name: str) -> None:
        """Remove an image file and its boxes; undo (`undo`) brings both back."""
        self.image_path(name)  # WorkspaceError when there is no such file
        with self.locked():
            ann = self.load()
            count = len(ann.boxes(name))
            ann.remove_image(name)
            summary = f"delete image {name} ({count} box{'' if count == 1 else 'es'})"
            self.history.commit(dumps_seed_json(ann), summary, removed=(name,))

    def replace_all_loss(self, imported: Annotations) -> tuple[int, int]:
        """What replacing everything with `imported` would delete beyond the imported images:
        (boxes, images) on the project's other images."""
        ann = self.load()
        lost = [len(entry.boxes) for name, entry in ann.images.items() if name not in imported.images]
        return sum(lost), sum(1 for n in lost if n)

    def import_annotations(
        self, result_annotations: Annotations, *, replace: bool = False, summary: str | None = None
    ) -> Version | None:
        """Put already-validated annotations into the project.

        By default only the imported images change: each gets exactly its imported boxes, and
        every other image keeps its own. `replace=True` replaces everything (the other images
        lose their boxes: see `replace_all_loss`). Either way it is one undoable version.
        """
        if summary is None:
            boxes = sum(len(e.boxes) for e in result_annotations.images.values())
            images = len(result_annotations.images)
            summary = f"import: {boxes} boxes on {images} images" + (
                ", replacing everything" if replace else ""
            )
        if replace:
            return self.save(result_annotations, summary)
        with self.edit(summary) as ann:
            ann.merge_categories(result_annotations.categories)
            # Top-level keys the project lacks (a COCO source's categories and ids) come along.
            ann.extra.update({k: v for k, v in result_annotations.extra.items() if k not in ann.extra})
            for name, entry in result_annotations.images.items():
                ann.images[name] = entry
        return None  # the edit saved its version (or none, when nothing changed)


def image_name_key(name: str) -> str:
    """How image names are matched: Unicode NFC, case-insensitive (`IMG_1.JPG` ~ `img_1.jpg`)."""
    return unicodedata.normalize("NFC", str(name)).casefold()


def stored_image_name(filename: str) -> str:
    """The file name add_image stores an upload under when no annotation key claims it."""
    stem, ext = os.path.splitext(os.path.basename(filename))
    return safe_name(stem, fallback="image") + ext.lower()


def attach_to_files(ann: Annotations, files: list[str]) -> dict[str, str]:
    """Rename image keys that name no file to the one file they match by normalised name.

    A key matches a file when both are equal after NFC and case folding, or when the file is
    the name an upload of that key was stored under (`my photo.JPG` -> `my_photo.jpg`). A key
    with no match, or with several, is left alone; so is a key whose file name is taken by
    another key. Returns {old key: file name}.
    """
    present = set(files)
    by_key: dict[str, list[str]] = {}
    for f in files:
        by_key.setdefault(image_name_key(f), []).append(f)
    renamed: dict[str, str] = {}
    for key in list(ann.images):
        if key in present:
            continue
        matches = by_key.get(image_name_key(key)) or by_key.get(image_name_key(stored_image_name(key)))
        if not matches or len(matches) != 1 or matches[0] in ann.images:
            continue
        ann.images[matches[0]] = ann.images.pop(key)
        renamed[key] = matches[0]
    return renamed


def neighbour(names: list[str], current: str | None, step: int) -> str | None:
    """The image `step` places from `current` in `names` (clamped); first image if unknown."""
    if not names:
        return None
    if current not in names:
        return names[0]
    i = names.index(current) + step
    return names[min(max(i, 0), len(names) - 1)]


def delete_project(name: str, root: Path | None = None) -> TrashEntry:
    """Move a project (images, boxes, history) to the workspace trash, restorable for
    `trash.TRASH_DAYS` days (`trash.restore_project`).

    The move is one rename under the project's lock: the project is gone for every page at
    once, and a writer waiting for the lock then gets a `ProjectError` instead of recreating it.
    """
    project = Project.open(name, root)
    with project.locked():
        entry = move_to_trash(project.root, project.name, root)
    purge_trash(root)
    return entry


__all__ = ["Project", "ProjectError", "delete_project", "list_projects", "neighbour", "FormatError"]
