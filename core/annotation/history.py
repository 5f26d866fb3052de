"""A bounded history of a project's annotations.json: every saved version, undo, redo, restore.

    <project>/.history/index.json        the versions (time, one-line summary, hash) and the current one
    <project>/.history/<seq>.json        annotations.json exactly as that version saved it
    <project>/.history/files/<seq>/...   image files that version deleted, kept so undo can bring them back

The last `KEEP` versions are kept. Every file is written atomically, snapshot first and index
last, so a crash leaves at worst an unlisted snapshot (removed by the next change). The caller
holds the project's lock (`Project` does) around every method that changes something.

A change made after an undo drops the versions that could have been redone, as in any editor.
A file changed outside this history (an older app, a hand edit) is recorded as its own version
before the next change, undo or redo, so it can be returned to as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from core.annotation.annotations import Annotations
from core.errors import ProjectError
from core.fsutil import atomic_write_bytes, atomic_write_json

HISTORY_DIR = ".history"
INDEX_FILE = "index.json"
#: How many versions of annotations.json a project keeps.
KEEP = 50
#: And at most this many bytes of them (a 100,000-box project's file is several MB); the last
#: two versions are always kept.
KEEP_BYTES = 256 * 1024 * 1024
OUTSIDE = "changed outside the app's history"


@dataclass(frozen=True)
class Version:
    """One saved version: `seq` grows by one per version; `removed` are image files it deleted."""

    seq: int
    time: float
    summary: str
    sha: str
    removed: tuple[str, ...] = ()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class History:
    """The history of one project's annotations file (`annotations_path`, images in `images_dir`)."""

    def __init__(
        self, annotations_path: Path, images_dir: Path, *, keep: int = KEEP, keep_bytes: int = KEEP_BYTES
    ) -> None:
        if keep < 2:
            raise ValueError(f"a history keeps at least 2 versions, not {keep}")
        self.annotations_path = Path(annotations_path)
        self.images_dir = Path(images_dir)
        self.folder = self.annotations_path.parent / HISTORY_DIR
        self.keep = keep
        self.keep_bytes = keep_bytes

    # ----- reading ----------------------------------------------------------------------
    def _index(self) -> tuple[list[Version], int | None]:
        try:
            raw = json.loads((self.folder / INDEX_FILE).read_text(encoding="utf-8"))
            versions = [
                Version(
                    int(v["seq"]), float(v["time"]), str(v["summary"]), str(v["sha"]), tuple(v["removed"])
                )
                for v in raw["versions"]
            ]
            current = raw["current"]
        except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: start afresh
            return [], None
        seqs = [v.seq for v in versions]
        return versions, (current if current in seqs else (seqs[-1] if seqs else None))

    def versions(self) -> list[Version]:
        """The kept versions, oldest first."""
        return self._index()[0]

    def position(self) -> tuple[list[Version], Version | None]:
        """The kept versions, oldest first, and the one annotations.json holds now (as far as the
        history knows), from one read of the index."""
        versions, current = self._index()
        return versions, next((v for v in versions if v.seq == current), None)

    def current(self) -> Version | None:
        """The version annotations.json holds now (as far as the history knows)."""
        return self.position()[1]

    def can_undo(self) -> bool:
        versions, current = self._index()
        return bool(versions) and current != versions[0].seq

    def can_redo(self) -> bool:
        versions, current = self._index()
        return bool(versions) and current != versions[-1].seq

    def snapshot(self, seq: int) -> bytes:
        """annotations.json as version `seq` saved it."""
        try:
            return (self.folder / f"{seq}.json").read_bytes()
        except OSError as exc:
            raise ProjectError(f"version {seq} is no longer kept") from exc

    # ----- changing (under the project's lock) -------------------------------------------
    def commit(self, data: bytes, summary: str, *, removed: tuple[str, ...] = ()) -> Version | None:
        """Save `data` as annotations.json and record it as the newest version.

        `removed` names image files this change deletes: they are moved out of the images folder
        into the history (last, once the version is recorded), so undo can bring them back.
        Nothing happens (None) when `data` is what the file holds and no image is removed.
        """
        versions, current, on_disk = self._adopt_disk()
        if not removed and versions and _sha(data) == on_disk:
            return None
        return self._append(versions, current, data, summary, removed)

    def undo(self) -> Version:
        """Return annotations.json (and any image the undone version deleted) to the version
        before the current one. Returns the version undone."""
        versions, current, _ = self._adopt_disk()
        pos = [v.seq for v in versions].index(current) if versions and current is not None else 0
        if pos == 0:
            raise ProjectError("nothing to undo")
        undone, target = versions[pos], versions[pos - 1]
        for name in undone.removed:
            _move(self.folder / "files" / str(undone.seq) / name, self.images_dir / name)
        atomic_write_bytes(self.annotations_path, self.snapshot(target.seq))
        self._write_index(versions, target.seq)
        return undone

    def redo(self) -> Version:
        """Apply the version after the current one again. Returns it."""
        versions, current, _ = self._adopt_disk()
        seqs = [v.seq for v in versions]
        pos = seqs.index(current) if versions and current is not None else len(versions)
        if pos >= len(versions) - 1:
            raise ProjectError("nothing to redo")
        again = versions[pos + 1]
        for name in again.removed:
            _move(self.images_dir / name, self.folder / "files" / str(again.seq) / name)
        atomic_write_bytes(self.annotations_path, self.snapshot(again.seq))
        self._write_index(versions, again.seq)
        return again

    def restore(self, seq: int) -> Version | None:
        """Make version `seq` the newest version (a change like any other, so it can be undone)."""
        versions, _ = self._index()
        wanted = next((v for v in versions if v.seq == seq), None)
        if wanted is None:
            raise ProjectError(f"version {seq} is no longer kept")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wanted.time))
        return self.commit(self.snapshot(seq), f"restore {stamp}: {wanted.summary}")

    # ----- internals ---------------------------------------------------------------------
    def _disk(self) -> bytes | None:
        try:
            return self.annotations_path.read_bytes()
        except FileNotFoundError:
            return None

    def _adopt_disk(self) -> tuple[list[Version], int | None, str | None]:
        """The index, after recording the file as it is now when the history does not hold it,
        and the file's hash (None when there is no file)."""
        versions, current = self._index()
        data = self._disk()
        if data is None:
            return versions, current, None
        sha = _sha(data)
        held = next((v for v in versions if v.seq == current), None)
        if held is not None and held.sha == sha:
            return versions, current, sha
        summary = OUTSIDE if versions else "as saved before the history began"
        self._append(versions, current, data, summary, (), write_file=False)
        return (*self._index(), sha)

    def _append(
        self,
        versions: list[Version],
        current: int | None,
        data: bytes,
        summary: str,
        removed: tuple[str, ...],
        *,
        write_file: bool = True,
    ) -> Version:
        seq = max((v.seq for v in versions), default=0) + 1
        if current is not None:  # a change after an undo: the redo versions go
            versions = versions[: [v.seq for v in versions].index(current) + 1]
        version = Version(seq, time.time(), summary, _sha(data), tuple(removed))
        atomic_write_bytes(self.folder / f"{seq}.json", data)
        if write_file:
            atomic_write_bytes(self.annotations_path, data)
        versions = self._within_budget([*versions, version][-self.keep :])
        self._write_index(versions, seq)
        for name in removed:
            _move(self.images_dir / name, self.folder / "files" / str(seq) / name)
        self._prune({v.seq for v in versions})
        return version

    def _within_budget(self, versions: list[Version]) -> list[Version]:
        """The newest of `versions` whose snapshots fit in `keep_bytes` (at least two)."""
        total, kept = 0, 0
        for v in reversed(versions):
            try:
                total += (self.folder / f"{v.seq}.json").stat().st_size
            except OSError:
                pass
            if kept >= 2 and total > self.keep_bytes:
                break
            kept += 1
        return versions[len(versions) - kept :]

    def _write_index(self, versions: list[Version], current: int) -> None:
        atomic_write_json(
            self.folder / INDEX_FILE,
            {"current": current, "versions": [{**asdict(v), "removed": list(v.removed)} for v in versions]},
        )

    def _prune(self, kept: set[int]) -> None:
        """Remove snapshots and kept image files of versions no longer listed."""
        for path in self.folder.glob("*.json"):
            if path.stem.isdigit() and int(path.stem) not in kept:
                path.unlink(missing_ok=True)
        files = self.folder / "files"
        if files.is_dir():
            for folder in files.iterdir():
                if folder.name.isdigit() and int(folder.name) not in kept:
                    shutil.rmtree(folder, ignore_errors=True)


def _move(source: Path, target: Path) -> None:
    """Move one image file; leaves a file already at `target` alone (the source then stays kept)."""
    if not source.is_file() or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


def _boxes(n: int) -> str:
    return f"{n} box" if n == 1 else f"{n} boxes"


def describe_change(before: Annotations, after: Annotations) -> str:
    """A one-line summary of what changed: "2 boxes added on IMG_1.jpg", "category x added"."""
    parts: list[str] = []
    added_cats = [c for c in after.categories if c not in before.categories]
    gone_cats = [c for c in before.categories if c not in after.categories]
    if added_cats:
        parts.append(f"category {', '.join(added_cats)} added")
    if gone_cats:
        parts.append(f"category {', '.join(gone_cats)} removed")
    added = removed = relabelled = 0
    touched: list[str] = []
    for image in dict.fromkeys([*before.images, *after.images]):
        old, new = before.boxes(image), after.boxes(image)
        if old == new:
            continue
        touched.append(image)
        gone = Counter(b.xyxy for b in old) - Counter(b.xyxy for b in new)
        came = Counter(b.xyxy for b in new) - Counter(b.xyxy for b in old)
        added += sum(came.values())
        removed += sum(gone.values())
        kept = Counter(b.xyxy for b in old) & Counter(b.xyxy for b in new)
        same = Counter((b.xyxy, b.label) for b in old) & Counter((b.xyxy, b.label) for b in new)
        relabelled += max(0, sum(kept.values()) - sum(same.values()))
    counts = [
        f"{_boxes(n)} {what}"
        for n, what in ((added, "added"), (removed, "deleted"), (relabelled, "relabelled"))
        if n
    ]
    if counts:
        where = touched[0] if len(touched) == 1 else f"{len(touched)} images"
        parts.append(f"{', '.join(counts)} on {where}")
    elif touched:
        parts.append(f"boxes changed on {touched[0] if len(touched) == 1 else f'{len(touched)} images'}")
    return "; ".join(parts) or "annotations saved"
