"""File fingerprints for datasets: sha256, perceptual hash, size and format, cached per dataset.

Near-duplicates are pairs whose 8x8 difference hash (dHash) differs in at most 12 bits AND
whose 32x32 grayscale thumbnails correlate at 0.90 or more: the thresholds the shared data
sets were de-duplicated with. dHash alone merges unrelated aligned face crops. Tight face crops
on a plain background can still pair up across people: that only keeps them on one side of a
split, so near-duplicates are never deleted automatically. Pairs are joined into groups by
union-find (A~B and B~C put A, B and C in one group); exact duplicates (same sha256) always are.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core.fsutil import atomic_write_json
from core.imaging import MAX_PIXELS

CACHE_FILE = ".hashes.json"
CACHE_VERSION = 1
DHASH_MAX_DISTANCE = 12
MIN_CORRELATION = 0.90
THUMB = 32
WORKERS = min(4, os.cpu_count() or 1)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FileInfo:
    """What the health report and the split need to know about one file."""

    path: str  # dataset-relative POSIX path
    label: str
    sha256: str
    nbytes: int
    width: int = 0
    height: int = 0
    format: str = ""  # Pillow's format name: JPEG, PNG, ...
    dhash: str = ""  # 16 hex digits
    thumb: str = ""  # base64 of THUMB x THUMB uint8 grayscale
    error: str = ""  # non-empty when the file cannot be decoded

    @property
    def ok(self) -> bool:
        return not self.error


def fingerprint(data: bytes, *, path: str = "", label: str = "") -> FileInfo:
    """Decode `data` (at reduced scale where the format allows) and fingerprint it.

    Never raises for bad data: an unreadable image gets `error` set.
    """
    sha = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or ""
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ValueError(f"{w}x{h} pixels is more than the {MAX_PIXELS:,} allowed")
            orientation = img.getexif().get(0x0112, 1)
            img.draft("L", (4 * THUMB, 4 * THUMB))  # JPEG: decode at 1/2..1/8 scale
            img.load()
        if orientation in (5, 6, 7, 8):
            w, h = h, w
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 - a broken EXIF block must not make the image unusable
            pass
        if img.mode in ("P", "PA", "LA", "RGBA"):  # transparent parts count as white, as on load
            rgba = img.convert("RGBA")
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        gray = img.convert("L")
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "unreadable", never fatal
        return FileInfo(path, label, sha, len(data), error=f"unreadable image ({exc})")
    small = np.asarray(gray.resize((9, 8), Image.Resampling.BILINEAR), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    dhash = int("".join("1" if b else "0" for b in bits), 2)
    thumb = np.asarray(gray.resize((THUMB, THUMB), Image.Resampling.BILINEAR), dtype=np.uint8)
    return FileInfo(
        path,
        label,
        sha,
        len(data),
        w,
        h,
        fmt,
        f"{dhash:016x}",
        base64.b64encode(thumb.tobytes()).decode("ascii"),
    )


# ----- the per-dataset cache -----------------------------------------------------------
def _load_cache(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    entries = data.get("files")
    return entries if isinstance(entries, dict) else {}


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns]


def remember(dataset_root: Path, infos: Sequence[FileInfo]) -> None:
    """Add freshly written files to the cache so the next scan does not decode them again."""
    cache_path = dataset_root / CACHE_FILE
    cache = _load_cache(cache_path)
    for info in infos:
        try:
            st = (dataset_root / info.path).stat()
        except OSError:
            continue
        cache[info.path] = {"stamp": _stamp(st), "info": asdict(info)}
    atomic_write_json(cache_path, {"version": CACHE_VERSION, "files": cache})


def scan_files(
    dataset_root: Path,
    files: Sequence[tuple[str, str]],
    *,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> list[FileInfo]:
    """FileInfo for each (relative path, label), decoding only files changed since last time."""
    cache_path = dataset_root / CACHE_FILE
    cache = _load_cache(cache_path) if use_cache else {}
    out: list[FileInfo | None] = [None] * len(files)
    todo: list[int] = []
    stamps: dict[str, list[int]] = {}
    for i, (rel, label) in enumerate(files):
        try:
            stamps[rel] = _stamp((dataset_root / rel).stat())
        except OSError:
            stamps[rel] = [-1, -1]
        entry = cache.get(rel)
        if entry and entry.get("stamp") == stamps[rel]:
            try:
                out[i] = FileInfo(**{**entry["info"], "path": rel, "label": label})
                continue
            except TypeError:
                pass
        todo.append(i)

    def work(i: int) -> FileInfo:
        rel, label = files[i]
        try:
            data = (dataset_root / rel).read_bytes()
        except OSError as exc:
            return FileInfo(rel, label, "", 0, error=f"cannot read file ({exc.strerror or exc})")
        return fingerprint(data, path=rel, label=label)

    done = len(files) - len(todo)
    if progress:
        progress(done, len(files))
    if todo:
        with ThreadPoolExecutor(WORKERS) as pool:
            for i, info in zip(todo, pool.map(work, todo), strict=True):
                out[i] = info
                cache[info.path] = {"stamp": stamps[info.path], "info": asdict(info)}
                done += 1
                if progress and (done % 50 == 0 or done == len(files)):
                    progress(done, len(files))
    if todo or len(cache) != len(files):
        keep = {rel for rel, _ in files}
        atomic_write_json(
            cache_path, {"version": CACHE_VERSION, "files": {k: v for k, v in cache.items() if k in keep}}
        )
    return [i for i in out if i is not None]


# ----- grouping ------------------------------------------------------------------------
class UnionFind:
    """Disjoint sets over 0..n-1."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        """Sets with two or more members, each sorted, ordered by first member."""
        found: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            found.setdefault(self.find(i), []).append(i)
        return sorted((g for g in found.values() if len(g) > 1), key=lambda g: g[0])


def exact_groups(infos: Sequence[FileInfo]) -> list[list[int]]:
    """Indices of files with identical bytes (two or more per group)."""
    by_sha: dict[str, list[int]] = {}
    for i, info in enumerate(infos):
        if info.sha256:
            by_sha.setdefault(info.sha256, []).append(i)
    return sorted((g for g in by_sha.values() if len(g) > 1), key=lambda g: g[0])


def _thumbs(infos: Sequence[FileInfo]) -> np.ndarray:
    """Zero-mean, unit-norm thumbnails (N, THUMB*THUMB) as float32; flat images stay zero."""
    raw = np.frombuffer(b"".join(base64.b64decode(i.thumb) for i in infos), dtype=np.uint8)
    t = raw.reshape(len(infos), THUMB * THUMB).astype(np.float32)
    t -= t.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    return np.divide(t, norm, out=np.zeros_like(t), where=norm > 1e-6)


def near_pairs(
    infos: Sequence[FileInfo],
    *,
    max_distance: int = DHASH_MAX_DISTANCE,
    min_correlation: float = MIN_CORRELATION,
    chunk: int = 256,
) -> list[tuple[int, int]]:
    """(i, j) index pairs, i < j, of readable files that look alike (vectorised, chunked)."""
    idx = [i for i, info in enumerate(infos) if info.ok and info.dhash and info.thumb]
    if len(idx) < 2:
        return []
    hashes = np.array([int(infos[i].dhash, 16) for i in idx], dtype=np.uint64)
    thumbs = _thumbs([infos[i] for i in idx])
    pairs: list[tuple[int, int]] = []
    for start in range(0, len(idx), chunk):
        block = hashes[start : start + chunk]
        dist = np.bitwise_count(block[:, None] ^ hashes[None, :])
        a, b = np.nonzero(dist <= max_distance)
        a += start
        keep = b > a
        a, b = a[keep], b[keep]
        for k in range(0, a.size, 16_384):  # bounded memory even when many images look alike
            pa, pb = a[k : k + 16_384], b[k : k + 16_384]
            ok = np.einsum("ij,ij->i", thumbs[pa], thumbs[pb]) >= min_correlation
            pairs.extend((idx[x], idx[y]) for x, y in zip(pa[ok].tolist(), pb[ok].tolist(), strict=True))
    return pairs


def near_groups(infos: Sequence[FileInfo], **kwargs: float) -> list[list[int]]:
    """Indices of files grouped by exact OR near duplication (union-find), two or more each."""
    uf = UnionFind(len(infos))
    for g in exact_groups(infos):
        for j in g[1:]:
            uf.union(g[0], j)
    for a, b in near_pairs(infos, **kwargs):  # type: ignore[arg-type]
        uf.union(a, b)
    return uf.groups()
