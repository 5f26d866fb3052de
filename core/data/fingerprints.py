"""File fingerprints for datasets: sha256, perceptual hash, size and format, cached per dataset.

Near-duplicates are pairs whose 8x8 difference hash (dHash) differs in at most 12 bits AND
whose 32x32 grayscale thumbnails correlate at 0.90 or more (DHASH_MAX_DISTANCE,
MIN_CORRELATION). The thumbnail check is there because dHash alone pairs unrelated aligned
face crops. Tight face crops on a plain background can still pair up across people: that only
keeps them on one side of a split, so near-duplicates are never deleted automatically. Pairs
are joined into groups by union-find (A~B and B~C put A, B and C in one group); exact
duplicates (same sha256) always are.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core.fsutil import atomic_write_json
from core.imaging import MAX_PIXELS
from core.locking import folder_lock

CACHE_FILE = ".hashes.json"
CACHE_VERSION = 1
DHASH_MAX_DISTANCE = 12
MIN_CORRELATION = 0.90
THUMB = 32
WORKERS = min(4, os.cpu_count() or 1)

Progress = Callable[[int, int], None]
_IO_REPR = re.compile(r"<_io\.\w+ object at 0x[0-9a-fA-F]+>")


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
            img: Image.Image = Image.open(io.BytesIO(data))
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
    except Image.UnidentifiedImageError:
        return FileInfo(
            path, label, sha, len(data), error="unreadable image (not an image file Pillow can read)"
        )
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "unreadable", never fatal
        why = _IO_REPR.sub("the data", str(exc))
        return FileInfo(path, label, sha, len(data), error=f"unreadable image ({why})")
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
    with folder_lock(dataset_root):  # re-read under the lock: another writer's entries stay
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
    fresh: dict[str, dict] = {}
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
                fresh[info.path] = cache[info.path] = {"stamp": stamps[info.path], "info": asdict(info)}
                done += 1
                if progress and (done % 50 == 0 or done == len(files)):
                    progress(done, len(files))
    if todo or len(cache) != len(files):
        keep = {rel for rel, _ in files}
        with folder_lock(dataset_root):  # re-read under the lock, then add what this scan found
            saved = _load_cache(cache_path)
            saved.update(fresh)
            atomic_write_json(
                cache_path, {"version": CACHE_VERSION, "files": {k: v for k, v in saved.items() if k in keep}}
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


def _near_pair_blocks(
    infos: Sequence[FileInfo],
    *,
    max_distance: int = DHASH_MAX_DISTANCE,
    min_correlation: float = MIN_CORRELATION,
    chunk: int = 256,
    sub: int = 4096,
    joined: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Near-duplicate pairs, streamed as (i array, j array) blocks of at most `sub` pairs.

    Memory stays linear in the number of files: only one block of candidate pairs exists at a
    time, however many files look alike. `joined(i, j)` (a mask of pairs already in one group)
    lets a caller skip the thumbnail check of pairs it no longer needs.
    """
    idx = np.array(
        [i for i, info in enumerate(infos) if info.ok and info.dhash and info.thumb], dtype=np.int64
    )
    if idx.size < 2:
        return
    hashes = np.array([int(infos[i].dhash, 16) for i in idx.tolist()], dtype=np.uint64)
    thumbs = _thumbs([infos[i] for i in idx.tolist()])
    for start in range(0, idx.size, chunk):
        block = hashes[start : start + chunk]
        dist = np.bitwise_count(block[:, None] ^ hashes[None, start:])
        a, b = np.nonzero(dist <= max_distance)
        del dist
        a += start
        b += start
        keep = b > a
        a, b = a[keep], b[keep]
        for k in range(0, a.size, sub):
            pa, pb = a[k : k + sub], b[k : k + sub]
            if joined is not None:
                todo = ~joined(idx[pa], idx[pb])
                pa, pb = pa[todo], pb[todo]
                if not pa.size:
                    continue
            ok = np.einsum("ij,ij->i", thumbs[pa], thumbs[pb]) >= min_correlation
            if ok.any():
                yield idx[pa[ok]], idx[pb[ok]]


def near_pairs(
    infos: Sequence[FileInfo],
    *,
    max_distance: int = DHASH_MAX_DISTANCE,
    min_correlation: float = MIN_CORRELATION,
    chunk: int = 256,
) -> list[tuple[int, int]]:
    """(i, j) index pairs, i < j, of readable files that look alike (vectorised, chunked).

    The list grows with the square of the near-duplicates; near_groups streams instead.
    """
    pairs: list[tuple[int, int]] = []
    for a, b in _near_pair_blocks(
        infos, max_distance=max_distance, min_correlation=min_correlation, chunk=chunk
    ):
        pairs.extend(zip(a.tolist(), b.tolist(), strict=True))
    return pairs


class _Components:
    """Connected components over 0..n-1, joined block by block of edges (numpy + scipy), so a
    million pairs cost one pass in C instead of a million Python calls."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.comp = np.arange(n, dtype=np.int64)

    def same(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Mask of pairs already in one component."""
        return self.comp[a] == self.comp[b]

    def join(self, a: np.ndarray, b: np.ndarray) -> None:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        ra, rb = self.comp[a], self.comp[b]
        diff = ra != rb
        if not diff.any():
            return
        edges = np.unique(np.stack([ra[diff], rb[diff]], axis=1), axis=0)
        graph = coo_matrix(
            (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(self.n, self.n)
        )
        _, labels = connected_components(graph, directed=False)
        self.comp = labels.astype(np.int64)[self.comp]

    def groups(self) -> list[list[int]]:
        """Sets with two or more members, each sorted, ordered by first member."""
        order = np.argsort(self.comp, kind="stable")
        sorted_comp = self.comp[order]
        cuts = np.flatnonzero(np.diff(sorted_comp)) + 1
        out = [g.tolist() for g in np.split(order, cuts) if g.size > 1]
        return sorted(out, key=lambda g: g[0])


def near_groups(
    infos: Sequence[FileInfo],
    *,
    max_distance: int = DHASH_MAX_DISTANCE,
    min_correlation: float = MIN_CORRELATION,
) -> list[list[int]]:
    """Indices of files grouped by exact OR near duplication, two or more each.

    Pairs are joined into components as they are streamed from the index, never kept, so memory
    stays linear in the number of files, however many pairs look alike (see docs/data-safety.md).
    """
    comps = _Components(len(infos))
    for g in exact_groups(infos):
        comps.join(np.full(len(g) - 1, g[0], dtype=np.int64), np.array(g[1:], dtype=np.int64))
    blocks = _near_pair_blocks(
        infos, max_distance=max_distance, min_correlation=min_correlation, joined=comps.same
    )
    for a, b in blocks:
        comps.join(a, b)
    return comps.groups()
