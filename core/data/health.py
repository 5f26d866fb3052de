"""Dataset health report: counts and imbalance, sizes, duplicates, unreadable files, label leaks.

Everything is plain data; the page draws the charts. A *leak* is a property other than the face
that predicts the class: a file format or a size band found (almost) only in one class. A model
learns such shortcuts instead of the mask, then fails on real camera frames.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.data.dataset import Dataset
from core.data.fingerprints import FileInfo, Progress, exact_groups, near_groups, scan_files

TINY_SIDE = 32  # px: a shorter side than this is too small to learn a face from
IMBALANCE_WARN = 1.5  # largest class / smallest class
SMALL_CLASS = 20  # fewer images than this in a class gets a warning
LEAK_MIN_FILES = 5  # a value must occur this often in a class before it can be called a leak
LEAK_GAP = 0.4  # share in the class minus share in the other classes
SIZE_BANDS = ((0, 64, "< 64 px"), (64, 128, "64-127 px"), (128, 256, "128-255 px"), (256, 10**9, ">= 256 px"))


def size_band(info: FileInfo) -> str:
    """The band of the image's short side."""
    side = min(info.width, info.height)
    return next(name for lo, hi, name in SIZE_BANDS if lo <= side < hi)


@dataclass(frozen=True)
class Leak:
    """One attribute value that gives a class away."""

    attribute: str  # "format" | "size band"
    value: str
    label: str
    share_in: float  # share of the class's files with this value
    share_out: float  # share of the other classes' files with this value
    count: int

    @property
    def message(self) -> str:
        where = (
            f"only in class {self.label!r}"
            if self.share_out == 0
            else f"{self.share_in:.0%} of {self.label!r} vs {self.share_out:.0%} of the other classes"
        )
        return (
            f"{self.attribute} {self.value}: {self.count} files, {where}. A model can learn the "
            f"{self.attribute} instead of the face; re-encode or resize so every class looks alike."
        )


@dataclass(frozen=True)
class DuplicateGroup:
    """Files that are the same picture (exact: same bytes; near: look alike)."""

    paths: list[str]
    labels: list[str]

    @property
    def cross_class(self) -> bool:
        return len(set(self.labels)) > 1


@dataclass
class HealthReport:
    """What is wrong or risky in a dataset, as plain data."""

    files: list[FileInfo]
    counts: dict[str, int]
    exact_duplicates: list[DuplicateGroup] = field(default_factory=list)
    near_duplicates: list[DuplicateGroup] = field(default_factory=list)
    unreadable: list[FileInfo] = field(default_factory=list)
    tiny: list[FileInfo] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    shortcut_accuracy: float = 0.0  # accuracy of guessing the class from format + size band alone
    majority_accuracy: float = 0.0  # accuracy of always guessing the largest class

    @property
    def imbalance(self) -> float:
        """Largest class over smallest class (1.0 when balanced or fewer than two classes)."""
        sizes = [n for n in self.counts.values() if n > 0]
        return max(sizes) / min(sizes) if len(sizes) > 1 else 1.0

    def rows(self) -> list[dict[str, object]]:
        """One dict per readable file, for a DataFrame: label, width, height, aspect, format, kb."""
        return [
            {
                "path": f.path,
                "label": f.label,
                "width": f.width,
                "height": f.height,
                "aspect": round(f.width / f.height, 3) if f.height else 0.0,
                "format": f.format,
                "kb": round(f.nbytes / 1024, 1),
                "size band": size_band(f),
            }
            for f in self.files
            if f.ok
        ]

    def warnings(self) -> list[str]:
        """Every finding as one sentence, most important first."""
        out = [leak.message for leak in self.leaks]
        cross = [g for g in self.exact_duplicates + self.near_duplicates if g.cross_class]
        if cross:
            out.append(
                f"{len(cross)} duplicate groups span several classes: the same picture has two labels."
            )
        if self.shortcut_accuracy > self.majority_accuracy + 0.1:
            out.append(
                f"Format and size alone predict the class {self.shortcut_accuracy:.0%} of the time "
                f"(always guessing the largest class: {self.majority_accuracy:.0%})."
            )
        if self.imbalance >= IMBALANCE_WARN:
            out.append(f"Classes are imbalanced: the largest is {self.imbalance:.1f}x the smallest.")
        small = [c for c, n in self.counts.items() if n < SMALL_CLASS]
        if small:
            out.append(f"Classes with fewer than {SMALL_CLASS} images: {', '.join(small)}.")
        extra = sum(len(g.paths) - 1 for g in self.exact_duplicates)
        if extra:
            out.append(f"{extra} files are exact copies of another file.")
        if self.near_duplicates:
            out.append(
                f"{len(self.near_duplicates)} groups of near-duplicates (kept on one side of a split)."
            )
        if self.unreadable:
            out.append(f"{len(self.unreadable)} files cannot be read as images.")
        if self.tiny:
            out.append(f"{len(self.tiny)} images have a side under {TINY_SIDE} px.")
        return out


def find_leaks(labels: Sequence[str], values: Sequence[str], attribute: str) -> list[Leak]:
    """Values of one attribute that are far more common in one class than in the others."""
    per_class = Counter(labels)
    if len(per_class) < 2:
        return []
    joint = Counter(zip(labels, values, strict=True))
    per_value = Counter(values)
    total = len(labels)
    leaks: list[Leak] = []
    for (label, value), count in sorted(joint.items()):
        n_in, n_out = per_class[label], total - per_class[label]
        share_in = count / n_in
        share_out = (per_value[value] - count) / n_out
        if count >= LEAK_MIN_FILES and (
            (share_out == 0 and per_value[value] < total) or share_in - share_out >= LEAK_GAP
        ):
            leaks.append(Leak(attribute, value, label, share_in, share_out, count))
    return leaks


def _shortcut_accuracy(labels: Sequence[str], keys: Sequence[tuple[str, str]]) -> tuple[float, float]:
    """(accuracy of a per-(format, band) majority vote, accuracy of the overall majority)."""
    if not labels:
        return 0.0, 0.0
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for key, label in zip(keys, labels, strict=True):
        table[key][label] += 1
    hits = sum(c.most_common(1)[0][1] for c in table.values())
    return hits / len(labels), Counter(labels).most_common(1)[0][1] / len(labels)


def _groups(infos: Sequence[FileInfo], index_groups: list[list[int]]) -> list[DuplicateGroup]:
    return [DuplicateGroup([infos[i].path for i in g], [infos[i].label for i in g]) for g in index_groups]


def build_report(infos: Sequence[FileInfo], counts: dict[str, int] | None = None) -> HealthReport:
    """The health report of already-scanned files."""
    ok = [f for f in infos if f.ok]
    if counts is None:
        counts = dict(Counter(f.label for f in infos))
    exact = exact_groups(ok)
    exact_sets = {frozenset(g) for g in exact}
    near = [g for g in near_groups(ok) if frozenset(g) not in exact_sets]
    labels = [f.label for f in ok]
    leaks = find_leaks(labels, [f.format for f in ok], "format")
    leaks += find_leaks(labels, [size_band(f) for f in ok], "size band")
    shortcut, majority = _shortcut_accuracy(labels, [(f.format, size_band(f)) for f in ok])
    return HealthReport(
        files=list(infos),
        counts=counts,
        exact_duplicates=_groups(ok, exact),
        near_duplicates=_groups(ok, near),
        unreadable=[f for f in infos if not f.ok],
        tiny=[f for f in ok if min(f.width, f.height) < TINY_SIDE],
        leaks=leaks,
        shortcut_accuracy=shortcut,
        majority_accuracy=majority,
    )


def health_report(dataset: Dataset, *, progress: Progress | None = None) -> HealthReport:
    """Scan (cached) and report on every class of `dataset`."""
    infos = scan_files(dataset.root, dataset.all_files(), progress=progress)
    return build_report(infos, dataset.counts())


def remove_exact_duplicates(dataset: Dataset, report: HealthReport) -> list[str]:
    """Delete every extra copy of a file within its class, keeping the first path in natural order.

    Copies across classes are left alone: which label is right is the user's call. Returns the
    deleted paths.
    """
    removed: list[str] = []
    for group in report.exact_duplicates:
        seen: set[str] = set()
        for path, label in zip(group.paths, group.labels, strict=True):
            if label in seen and Path(dataset.root / path).is_file():
                dataset.delete(path)
                removed.append(path)
            seen.add(label)
    return removed
