"""core.data.fingerprints: per-file fingerprints that never raise, the per-dataset cache, exact
and near-duplicate groups (streamed, linear memory)."""

from __future__ import annotations

import base64
import io
import json
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import core.data.fingerprints as hashing
from core.data.dataset import Dataset
from core.data.fingerprints import (
    CACHE_FILE,
    CACHE_VERSION,
    THUMB,
    FileInfo,
    UnionFind,
    exact_groups,
    fingerprint,
    near_groups,
    near_pairs,
    remember,
    scan_files,
)
from tests.core.data.test_dataset import put, smooth_image
from tests.core.data.test_health import near_copy
from tests.images import array_bytes


@pytest.fixture
def planted(workspace: Path) -> Dataset:
    """Two classes of distinct pictures, an exact copy within a class and a corrupt file."""
    ds = Dataset.create("fp")
    for i in range(4):
        put(ds.root / f"mask/m{i}.jpg", smooth_image(i), "JPEG", quality=95)
        put(ds.root / f"nomask/n{i}.png", smooth_image(200 + i))
    (ds.root / "nomask/n0_copy.png").write_bytes((ds.root / "nomask/n0.png").read_bytes())
    (ds.root / "nomask/broken.jpg").write_bytes(array_bytes(smooth_image(9), "JPEG")[:200])
    return ds


class Counting:
    """Wraps fingerprint() and records the paths it decodes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        self.real = hashing.fingerprint
        monkeypatch.setattr(hashing, "fingerprint", self)

    def __call__(self, data: bytes, **kw: str) -> FileInfo:
        self.calls.append(kw["path"])
        return self.real(data, **kw)


# ----- fingerprint ----------------------------------------------------------------------------
def test_fingerprint_reads_size_format_and_never_raises() -> None:
    info = fingerprint(array_bytes(smooth_image(1, (40, 30)), "JPEG"), path="a/x.jpg", label="a")
    assert (info.width, info.height, info.format, info.ok) == (40, 30, "JPEG", True)
    assert len(info.dhash) == 16 and info.sha256
    bad = fingerprint(b"not an image")
    assert not bad.ok and "unreadable" in bad.error and bad.sha256


def test_fingerprint_uses_exif_orientation() -> None:
    img = Image.fromarray(smooth_image(1, (40, 20)))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    info = fingerprint(buf.getvalue())
    assert (info.width, info.height) == (20, 40)


def test_skip_messages_never_show_a_bytesio_repr() -> None:
    info = fingerprint(b"not an image at all")
    assert info.error and "<_io" not in info.error and "BytesIO" not in info.error


def test_fingerprint_keeps_path_label_size_and_a_grey_thumbnail() -> None:
    data = array_bytes(smooth_image(3, (50, 20)))
    info = fingerprint(data, path="c/y.png", label="c")
    assert (info.path, info.label, info.nbytes, info.format) == ("c/y.png", "c", len(data), "PNG")
    thumb = np.frombuffer(base64.b64decode(info.thumb), dtype=np.uint8)
    assert thumb.size == THUMB * THUMB
    assert fingerprint(data).dhash == info.dhash and fingerprint(data).sha256 == info.sha256


def test_too_many_pixels_is_an_error_not_a_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "MAX_PIXELS", 100)
    info = fingerprint(array_bytes(smooth_image(1, (20, 20))), path="big.png")
    assert not info.ok and "20x20 pixels is more than the 100 allowed" in info.error
    assert info.sha256 and info.nbytes > 0 and info.dhash == ""


def test_a_truncated_file_is_unreadable() -> None:
    info = fingerprint(array_bytes(smooth_image(1), "JPEG")[:300])
    assert not info.ok and info.error.startswith("unreadable image")


def test_transparent_pixels_count_as_white() -> None:
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    white = Image.new("RGB", (40, 40), (255, 255, 255))
    a, b = fingerprint(array_bytes(np.asarray(clear))), fingerprint(array_bytes(np.asarray(white)))
    assert a.ok and a.thumb == b.thumb


# ----- the cache ------------------------------------------------------------------------------
def test_scan_uses_the_cache_until_a_file_changes(planted: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    first = scan_files(planted.root, planted.all_files())
    counting = Counting(monkeypatch)
    assert scan_files(planted.root, planted.all_files()) == first
    assert counting.calls == []
    put(planted.root / "mask/m0.jpg", smooth_image(999), "JPEG")
    again = scan_files(planted.root, planted.all_files())
    assert counting.calls == ["mask/m0.jpg"]
    assert again[0].sha256 != first[0].sha256
    (planted.root / hashing.CACHE_FILE).write_text("{broken")
    assert len(scan_files(planted.root, planted.all_files())) == len(first)


def test_scan_reports_unreadable_and_missing_files_without_raising(planted: Dataset) -> None:
    files = [*planted.all_files(), ("nomask/gone.png", "nomask")]
    infos = scan_files(planted.root, files)
    assert [i.path for i in infos] == [rel for rel, _ in files]
    bad = {i.path: i.error for i in infos if not i.ok}
    assert set(bad) == {"nomask/broken.jpg", "nomask/gone.png"}
    assert bad["nomask/gone.png"].startswith("cannot read file")
    assert bad["nomask/broken.jpg"].startswith("unreadable image")


def test_the_cache_follows_the_file_list_and_is_valid_json(planted: Dataset) -> None:
    files = planted.all_files()
    scan_files(planted.root, files)
    saved = json.loads((planted.root / CACHE_FILE).read_text())
    assert saved["version"] == CACHE_VERSION and set(saved["files"]) == {rel for rel, _ in files}
    scan_files(planted.root, files[:3])  # files gone from the dataset leave the cache
    saved = json.loads((planted.root / CACHE_FILE).read_text())
    assert set(saved["files"]) == {rel for rel, _ in files[:3]}
    assert not [p for p in planted.root.iterdir() if p.name.endswith(".tmp")]


def test_a_cache_of_another_version_is_ignored(planted: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    files = planted.all_files()
    first = scan_files(planted.root, files)
    path = planted.root / CACHE_FILE
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "version": CACHE_VERSION + 1}))
    counting = Counting(monkeypatch)
    assert scan_files(planted.root, files) == first
    assert sorted(counting.calls) == sorted(rel for rel, _ in files)


def test_use_cache_false_decodes_everything(planted: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    files = planted.all_files()
    scan_files(planted.root, files)
    counting = Counting(monkeypatch)
    scan_files(planted.root, files, use_cache=False)
    assert len(counting.calls) == len(files)


def test_a_label_change_is_taken_from_the_caller_not_the_cache(planted: Dataset) -> None:
    files = planted.all_files()
    scan_files(planted.root, files)
    relabelled = [(rel, "other") for rel, _ in files]
    assert {i.label for i in scan_files(planted.root, relabelled)} == {"other"}


def test_progress_reaches_the_total(planted: Dataset) -> None:
    seen: list[tuple[int, int]] = []
    n = len(planted.all_files())
    scan_files(planted.root, planted.all_files(), progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, n) and seen[-1] == (n, n)
    seen.clear()
    scan_files(planted.root, planted.all_files(), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(n, n)], "all from the cache"


def test_remember_spares_the_next_scan_a_decode(planted: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    files = planted.all_files()
    scan_files(planted.root, files)
    put(planted.root / "mask/new.png", smooth_image(55))
    info = fingerprint((planted.root / "mask/new.png").read_bytes(), path="mask/new.png", label="mask")
    remember(planted.root, [info, FileInfo("mask/never_written.png", "mask", "", 0)])
    counting = Counting(monkeypatch)
    infos = scan_files(planted.root, planted.all_files())
    assert counting.calls == []
    assert info in infos
    saved = json.loads((planted.root / CACHE_FILE).read_text())["files"]
    assert "mask/never_written.png" not in saved  # no file, no entry


def test_concurrent_remember_calls_keep_every_entry(planted: Dataset) -> None:
    names = [f"t{k}/{i}.png" for k in range(3) for i in range(5)]
    for name in names:
        put(planted.root / name, smooth_image(len(name)))

    def add(k: int) -> None:
        for i in range(5):
            rel = f"t{k}/{i}.png"
            remember(planted.root, [fingerprint((planted.root / rel).read_bytes(), path=rel, label=f"t{k}")])

    threads = [threading.Thread(target=add, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    saved = json.loads((planted.root / CACHE_FILE).read_text())["files"]
    assert set(names) <= set(saved)


# ----- grouping -------------------------------------------------------------------------------
def test_near_groups_join_transitively_and_keep_unrelated_apart() -> None:
    a = smooth_image(1)
    infos = [
        fingerprint(array_bytes(a), path="0"),
        fingerprint(array_bytes(near_copy(a), "JPEG", quality=90), path="1"),
        fingerprint(array_bytes(near_copy(near_copy(a))), path="2"),
        fingerprint(array_bytes(smooth_image(2)), path="3"),
        fingerprint(array_bytes(a), path="4"),
        fingerprint(b"junk", path="5"),
    ]
    assert exact_groups(infos) == [[0, 4]]
    assert near_groups(infos) == [[0, 1, 2, 4]]


def test_union_find_groups_only_sets_of_two_or_more() -> None:
    uf = UnionFind(7)
    uf.union(5, 2)
    uf.union(2, 6)
    uf.union(0, 3)
    uf.union(3, 0)
    assert uf.groups() == [[0, 3], [2, 5, 6]]
    assert uf.find(6) == uf.find(5) == 2


def test_no_files_or_one_file_have_no_groups() -> None:
    assert near_groups([]) == [] and near_pairs([]) == [] and exact_groups([]) == []
    one = [fingerprint(array_bytes(smooth_image(1)), path="x")]
    assert near_groups(one) == [] and near_pairs(one) == []


def _copies(n: int) -> list[FileInfo]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (32, 32)).astype(np.int16)
    out = []
    for i in range(n):
        t = np.clip(base + rng.integers(-3, 4, (32, 32)), 0, 255).astype(np.uint8)
        thumb = base64.b64encode(t.tobytes()).decode()
        out.append(FileInfo(f"c/{i}.png", "c", f"{i:064x}", 100, 64, 64, "PNG", "0f0f0f0f0f0f0f0f", thumb))
    return out


def test_near_pairs_do_not_depend_on_the_chunk_size() -> None:
    infos = _copies(30)
    pairs = near_pairs(infos)
    assert len(pairs) == 30 * 29 // 2 and all(i < j for i, j in pairs)
    assert sorted(near_pairs(infos, chunk=7)) == sorted(pairs)


def test_near_duplicate_groups_use_little_memory() -> None:
    infos = _copies(1500)  # 1.1 million near pairs
    tracemalloc.start()
    try:
        groups = near_groups(infos)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert groups == [list(range(1500))]
    assert peak < 60 * 1024**2, f"peak {peak / 1024**2:.0f} MB"


def test_streamed_groups_equal_union_find_over_all_pairs() -> None:
    infos = _copies(40)[:10] + [
        FileInfo(
            f"d/{i}.png", "d", f"{i + 99:064x}", 100, 64, 64, "PNG", f"{i * 7919:016x}", _copies(1)[0].thumb
        )
        for i in range(10)
    ]
    infos += [infos[3]]  # an exact copy
    uf = UnionFind(len(infos))
    for g in exact_groups(infos):
        for j in g[1:]:
            uf.union(g[0], j)
    for a, b in near_pairs(infos):
        uf.union(a, b)
    assert near_groups(infos) == uf.groups()
