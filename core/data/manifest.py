"""The split manifest: the exact data an experiment names.

A manifest lists every file of a dataset (path relative to the dataset folder, label, sha256,
split, near-duplicate group) with the class list and the seed. Its version id is the sha256 of
its canonical JSON (sorted keys, no whitespace), first 12 hex digits, so the same files, labels
and split always give the same id. Stored at

    <workspace>/datasets/<dataset>/.splits/<version>.json

The folder starts with a dot so `keras.utils.image_dataset_from_directory` never reads it
as a class.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import FormatError, WorkspaceError
from core.fsutil import atomic_write_json
from core.workspace import datasets_dir

FORMAT = "mask-studio-split/1"
SPLITS = ("train", "val", "test")
SPLITS_DIR = ".splits"


@dataclass(frozen=True)
class ManifestFile:
    path: str  # relative to the dataset folder, POSIX separators: "<label>/<file>"
    label: str
    sha256: str
    split: str  # "train" | "val" | "test"
    group: int = -1  # near-duplicate group id; files of one group share a split


@dataclass
class Manifest:
    dataset: str
    classes: list[str]
    files: list[ManifestFile]
    seed: int = 0
    fractions: dict[str, float] = field(default_factory=lambda: {"train": 0.7, "val": 0.15, "test": 0.15})
    format: str = FORMAT

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = [asdict(f) for f in sorted(self.files, key=lambda f: f.path)]
        return d

    @property
    def version(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    def split_files(self, split: str) -> list[ManifestFile]:
        return [f for f in self.files if f.split == split]

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {class: n}} for every split and class (zeros included)."""
        out = {s: {c: 0 for c in self.classes} for s in SPLITS}
        for f in self.files:
            out[f.split][f.label] = out[f.split].get(f.label, 0) + 1
        return out

    @classmethod
    def from_dict(cls, data: Any, *, file: str = "manifest") -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise FormatError(f"not a {FORMAT} manifest", file=file)
        try:
            files = [ManifestFile(**f) for f in data["files"]]
            m = cls(
                dataset=str(data["dataset"]),
                classes=[str(c) for c in data["classes"]],
                files=files,
                seed=int(data["seed"]),
                fractions={k: float(v) for k, v in data["fractions"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FormatError(f"malformed manifest ({exc})", file=file) from exc
        for f in m.files:
            if f.split not in SPLITS or f.label not in m.classes:
                raise FormatError(f"bad split or label for {f.path}", file=file)
        return m


def manifest_path(dataset: str, version: str, root: Path | None = None) -> Path:
    return datasets_dir(root) / dataset / SPLITS_DIR / f"{version}.json"


def save_manifest(manifest: Manifest, root: Path | None = None) -> Path:
    """Write the manifest under its version id (atomic). Returns the path."""
    path = manifest_path(manifest.dataset, manifest.version, root)
    atomic_write_json(path, manifest.to_dict())
    return path


def read_manifest(path: str | Path) -> Manifest:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read manifest ({exc})", file=str(p)) from exc
    return Manifest.from_dict(data, file=p.name)


def list_versions(root: Path | None = None) -> list[tuple[str, str]]:
    """(dataset, version) for every manifest in the workspace, newest first."""
    base = datasets_dir(root)
    found = (
        sorted(base.glob(f"*/{SPLITS_DIR}/*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        if base.is_dir()
        else []
    )
    return [(p.parent.parent.name, p.stem) for p in found]


def find_manifest(version: str, root: Path | None = None) -> tuple[Manifest, Path]:
    """The manifest with this version id and its dataset folder. Raises WorkspaceError if absent."""
    base = datasets_dir(root)
    for p in base.glob(f"*/{SPLITS_DIR}/{version}.json") if base.is_dir() else []:
        return read_manifest(p), p.parent.parent
    raise WorkspaceError(f"no dataset version {version!r} in the workspace")
