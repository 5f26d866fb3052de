"""Where each dataset file came from: the source photo behind every crop, recorded at build time.

`<dataset>/.sources.json` maps a file's sha256 (its content, so a file moved to another class in
Review keeps its record) to {"source": "voc:<folder>" | "project:<name>" | "folder:<name>" | ...,
"photo": the photo's name, "photo_sha256": the photo's sha256}. The scene test uses it to refuse
scoring a model on photos whose crops it was trained on; the split uses it to keep the crops of one
photo on one side.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.fsutil import atomic_write_json

SOURCES_FILE = ".sources.json"
#: Splits whose files a model learns from (val picks the best epoch).
SEEN_SPLITS = ("train", "val")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_sources(dataset_root: Path) -> dict[str, dict[str, Any]]:
    """{file sha256: record}; {} when the dataset has none (built before provenance existed)."""
    try:
        data = json.loads((Path(dataset_root) / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}


def add_record(records: dict[str, dict[str, Any]], sha256: str, record: Mapping[str, Any]) -> None:
    """Add `record` for file `sha256`; when the same content came from another photo too (two
    identical crops), that photo joins the record's "other_photos"."""
    old = records.get(sha256)
    if old is None:
        records[sha256] = dict(record)
        return
    photos = {old.get("photo_sha256"), *old.get("other_photos", [])}
    new = {record.get("photo_sha256"), *record.get("other_photos", [])} - photos - {None}
    if new:
        old["other_photos"] = sorted({*old.get("other_photos", []), *new})


def record_sources(dataset_root: Path, records: Mapping[str, Mapping[str, Any]]) -> None:
    """Merge `records` into the dataset's .sources.json (atomic write)."""
    if not records:
        return
    from core.locking import folder_lock

    with folder_lock(dataset_root):  # re-read under the dataset's lock: another build's records stay
        current = load_sources(dataset_root)
        for sha, rec in records.items():
            add_record(current, sha, rec)
        atomic_write_json(Path(dataset_root) / SOURCES_FILE, current)


#: Sources whose files are faces cut from photos ("source" prefixes of the records below).
PHOTO_SOURCES = ("voc:", "project:")


def is_photo_source(source: str) -> bool:
    """A file cut from a photo (a VOC scene or an annotation project), not a crop dataset's."""
    return str(source).startswith(PHOTO_SOURCES)


def is_detector_framed(path: str) -> bool:
    """A VOC crop cut from the detector's box (core.data.voc_import names it `<photo>_det_<n>`)."""
    return "_det_" in Path(path).stem


def source_record(source: str, photo: str, photo_sha256: str) -> dict[str, str]:
    return {"source": source, "photo": photo, "photo_sha256": photo_sha256}


def photo_of(sha256: str, sources: Mapping[str, Mapping[str, Any]]) -> str:
    """The sha256 of the photo a file came from (the file's own when it is no crop)."""
    rec = sources.get(sha256)
    value = rec.get("photo_sha256") if rec else None
    return value if isinstance(value, str) and value else sha256


def seen_photo_hashes(
    files: Iterable[Any], dataset_root: Path, splits: Sequence[str] = SEEN_SPLITS
) -> set[str]:
    """sha256 of every photo behind the manifest `files` (objects with .sha256 and .split) in
    `splits`: the files themselves and, for crops, their source photos."""
    sources = load_sources(dataset_root)
    out: set[str] = set()
    for f in files:
        if f.split in splits and f.sha256:
            out.add(f.sha256)
            out.add(photo_of(f.sha256, sources))
            out.update(str(v) for v in (sources.get(f.sha256) or {}).get("other_photos", []))
    return out


def photo_groups(hashes: Sequence[str], sources: Mapping[str, Mapping[str, Any]]) -> list[list[int]]:
    """Indices of `hashes` (file sha256s) grouped by source photo; only groups of 2 or more."""
    by_photo: dict[str, list[int]] = {}
    for i, h in enumerate(hashes):
        rec = sources.get(h)
        if rec and isinstance(rec.get("photo_sha256"), str):
            by_photo.setdefault(rec["photo_sha256"], []).append(i)
    return [g for g in by_photo.values() if len(g) > 1]


def merge_groups(n: int, *group_lists: Iterable[Sequence[int]]) -> list[list[int]]:
    """Union of overlapping groups of indices 0..n-1 (groups of 2 or more, sorted)."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for groups in group_lists:
        for g in groups:
            g = list(g)
            for other in g[1:]:
                ra, rb = find(g[0]), find(other)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(find(i), []).append(i)
    return sorted((g for g in out.values() if len(g) > 1), key=lambda g: g[0])


def source_counts(files: Iterable[Any], dataset_root: Path) -> dict[str, int]:
    """{source: files} for manifest files (files without a record count as "unknown")."""
    sources = load_sources(dataset_root)
    out: dict[str, int] = {}
    for f in files:
        rec = sources.get(f.sha256) or {}
        key = str(rec.get("source") or "unknown")
        out[key] = out.get(key, 0) + 1
    return out
