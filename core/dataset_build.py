"""Fill a dataset: crop an annotation project, import a class-folder dataset or a Pascal VOC set.

Crops use core.imaging.square_crop, the one crop Predict and Live use too: the box's short
side grows around its centre into a square (never a stretch), the part of the square outside
the image is filled by repeating the edge pixels (OpenCV BORDER_REPLICATE), and the square is
resized to `size` x `size`. A crop is saved as `<dataset>/<label>/<image-stem>_<n>.png`, `n`
being the box's 1-based number in its image (the annotator's "box n"); "None" boxes are
skipped. Unreadable inputs are skipped and listed, never fatal.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from core.annotations import NONE
from core.dataset import Dataset, label_folder
from core.errors import DatasetError, FormatError, ImageLoadError, WorkspaceError
from core.fsutil import atomic_write_bytes, natural_key, safe_name
from core.hashing import WORKERS, FileInfo, Progress, fingerprint, remember
from core.imaging import is_image_name, load_rgb_array, square_crop
from core.projects import Project

DEFAULT_SIZE = 240
#: Formats keras.utils.image_dataset_from_directory reads; others are converted to PNG on import.
KERAS_FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "BMP": (".bmp",), "GIF": (".gif",)}
MAX_ZIP_BYTES = 4 * 1024**3
MAX_MEMBER_BYTES = 100 * 1024**2


@dataclass
class BuildReport:
    """What an import or crop wrote and what it skipped (with the reason)."""

    written: list[str] = field(default_factory=list)  # dataset-relative paths
    unchanged: list[str] = field(default_factory=list)  # identical file already there
    skipped: list[str] = field(default_factory=list)  # "<source>: <reason>"
    converted: list[str] = field(default_factory=list)  # re-encoded to PNG for Keras

    def counts(self) -> dict[str, int]:
        """{class folder: files written or already there}."""
        return dict(Counter(p.split("/", 1)[0] for p in self.written + self.unchanged))


def png_bytes(array: np.ndarray) -> bytes:
    """An RGB array encoded as PNG (fast zlib level: 4x quicker than the default, lossless)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_file(folder: Path, filename: str, data: bytes, report: BuildReport, root: Path) -> str:
    """Write `data` as `folder/filename` atomically; an identical file is kept, a different one
    gets a numbered name (`-2`). Records the path in `report` and returns it (relative)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    stem, ext = os.path.splitext(filename)
    n = 2
    while target.exists():
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            rel = target.relative_to(root).as_posix()
            report.unchanged.append(rel)
            return rel
        target = folder / f"{stem}-{n}{ext}"
        n += 1
    atomic_write_bytes(target, data)
    rel = target.relative_to(root).as_posix()
    report.written.append(rel)
    return rel


def crop_boxes(
    dataset: Dataset,
    image: np.ndarray,
    stem: str,
    boxes: Iterable[tuple[tuple[float, float, float, float], str]],
    report: BuildReport,
    *,
    size: int = DEFAULT_SIZE,
    min_side: int = 0,
    folder: Path | None = None,
) -> None:
    """Crop every (xyxy, label) box that is not "None" into its label folder (or `folder`)."""
    stem = safe_name(stem, fallback="image")
    for n, (xyxy, label) in enumerate(boxes, start=1):
        if label == NONE and folder is None:
            continue
        x1, y1, x2, y2 = xyxy
        if max(x2 - x1, y2 - y1) < max(min_side, 1):
            report.skipped.append(f"{stem} box {n}: smaller than {min_side} px")
            continue
        target = folder if folder is not None else dataset.label_dir(label)
        write_file(target, f"{stem}_{n}.png", png_bytes(square_crop(image, xyxy, size)), report, dataset.root)


def crop_project(
    project: Project,
    dataset: Dataset,
    *,
    size: int = DEFAULT_SIZE,
    min_side: int = 0,
    progress: Progress | None = None,
) -> BuildReport:
    """Crop every labelled box of an annotation project into `dataset`."""
    if size < 8 or size > 2048:
        raise DatasetError(f"crop size must be 8..2048 px, got {size}")
    ann = project.load()
    names = sorted((n for n in ann.images if any(b.label != NONE for b in ann.boxes(n))), key=natural_key)
    report = BuildReport()
    for i, name in enumerate(names):
        try:
            image = load_rgb_array(project.image_path(name))
        except (ImageLoadError, WorkspaceError) as exc:
            report.skipped.append(f"{name}: {exc}")
            continue
        boxes = [(b.xyxy, b.label) for b in ann.boxes(name)]
        crop_boxes(dataset, image, Path(name).stem, boxes, report, size=size, min_side=min_side)
        if progress:
            progress(i + 1, len(names))
    return report


# ----- class-folder datasets -----------------------------------------------------------
Source = tuple[str, str, Callable[[], bytes]]  # (label, file name, read bytes)


def import_sources(
    dataset: Dataset, sources: Sequence[Source], *, progress: Progress | None = None
) -> BuildReport:
    """Copy (label, name, reader) sources into class folders after checking each decodes.

    Formats Keras cannot read (WEBP, ...) are re-encoded to PNG. The fingerprints computed on
    the way are cached, so the health report does not decode the files again.
    """
    report = BuildReport()

    def load(src: Source) -> tuple[Source, bytes | None, FileInfo | str]:
        label, name, read = src
        try:
            data = read()
        except (
            OSError,
            ValueError,
            RuntimeError,
            zipfile.BadZipFile,
            zlib.error,
        ) as exc:  # RuntimeError: encrypted ZIP member
            return src, None, f"{label}/{name}: cannot read ({exc})"
        info = fingerprint(data, label=label_folder(label))
        return src, data, info if info.ok else f"{label}/{name}: {info.error}"

    infos: list[FileInfo] = []
    with ThreadPoolExecutor(WORKERS) as pool:
        for start in range(0, len(sources), 64):  # bounded memory: 64 files in flight
            for src, data, info in pool.map(load, sources[start : start + 64]):
                stored = _store(dataset, src, data, info, report)
                if stored is not None:
                    infos.append(stored)
            if progress:
                progress(min(start + 64, len(sources)), len(sources))
    remember(dataset.root, infos)
    return report


def _store(
    dataset: Dataset, src: Source, data: bytes | None, info: FileInfo | str, report: BuildReport
) -> FileInfo | None:
    """Write one loaded source into its class folder; the stored file's fingerprint, or None."""
    label, name, _ = src
    if isinstance(info, str) or data is None:
        report.skipped.append(str(info))
        return None
    stem, ext = os.path.splitext(name)
    stem, ext = safe_name(stem, fallback="image"), ext.lower()
    if info.format not in KERAS_FORMATS:
        try:
            data = png_bytes(load_rgb_array(data))
        except ImageLoadError as exc:
            report.skipped.append(f"{label}/{name}: {exc.reason}")
            return None
        info, ext = fingerprint(data, label=info.label), ".png"
        report.converted.append(f"{label}/{name}")
    elif ext not in KERAS_FORMATS[info.format]:
        ext = KERAS_FORMATS[info.format][0]  # the extension tells the real content
    rel = write_file(dataset.label_dir(label), stem + ext, data, report, dataset.root)
    return replace(info, path=rel)


def folder_sources(src: str | os.PathLike[str]) -> tuple[list[Source], list[str]]:
    """Sources from `src/<class>/<image>` (one level), and the names of ignored entries."""
    root = Path(src).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{src} is not a folder")
    sources: list[Source] = []
    ignored: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda p: natural_key(p.name)):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            ignored.append(entry.name)
            continue
        for f in sorted(entry.iterdir(), key=lambda p: natural_key(p.name)):
            if f.is_file() and is_image_name(f.name) and not f.name.startswith("."):
                sources.append((entry.name, f.name, f.read_bytes))
            elif not f.name.startswith("."):
                ignored.append(f"{entry.name}/{f.name}")
    if not sources:
        raise DatasetError(f"no images in class sub-folders of {src}")
    return sources, ignored


def import_folder(
    src: str | os.PathLike[str], dataset: Dataset, *, progress: Progress | None = None
) -> BuildReport:
    """Copy a `<class>/<image>` folder dataset into `dataset` (the original is never touched)."""
    if dataset.root == Path(src).resolve() or dataset.root in Path(src).resolve().parents:
        raise DatasetError("cannot import a dataset into itself")
    sources, ignored = folder_sources(src)
    report = import_sources(dataset, sources, progress=progress)
    report.skipped += [f"{name}: {IGNORED_REASON}" for name in ignored]
    return report


def zip_sources(data: bytes) -> list[Source]:
    """Sources from a ZIP of `[top/]<class>/<image>` members (size-limited, no path escapes)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"not a ZIP file ({exc})") from exc
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise DatasetError("the ZIP unpacks to more than 4 GB")
    sources: list[Source] = []
    for m in members:
        parts = PurePosixPath(m.filename.replace("\\", "/")).parts
        if len(parts) < 2 or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if is_image_name(parts[-1]) and m.file_size <= MAX_MEMBER_BYTES:
            sources.append((parts[-2], parts[-1], lambda m=m: archive.read(m)))
    if not sources:
        raise DatasetError("no images in class folders inside the ZIP")
    return sources


# ----- Pascal VOC scene sets -----------------------------------------------------------
#: Why a file of a class-folder dataset is not imported (the preview already lists them).
IGNORED_REASON = "not an image in a class folder"


@dataclass
class VocSummary:
    """What a Pascal VOC folder holds, before importing it."""

    xml_files: int = 0
    images_found: int = 0
    boxes_per_class: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def voc_summary(src: str | os.PathLike[str]) -> VocSummary:
    """Count the XML files, the images they name that exist, and the boxes per class."""
    from core.formats.voc import parse_voc_xml

    root = Path(src).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{src} is not a folder")
    names: set[str] = set()
    for p in root.rglob("*"):
        if p.is_file() and is_image_name(p.name):
            names.update((p.name, p.stem))
    out = VocSummary()
    for xml in sorted(root.rglob("*.xml"), key=lambda p: natural_key(p.name)):
        out.xml_files += 1
        try:
            name, _, raw = parse_voc_xml(xml.read_bytes(), file=xml.name)
        except (OSError, FormatError) as exc:
            out.problems.append(f"{xml.name}: {exc}")
            continue
        if name in names or Path(name).stem in names or xml.stem in names:
            out.images_found += 1
        else:
            out.problems.append(f"{xml.name}: image {name} not found")
        for b in raw:
            out.boxes_per_class[b.label] = out.boxes_per_class.get(b.label, 0) + 1
    return out


def import_voc(
    src: str | os.PathLike[str],
    dataset: Dataset,
    *,
    size: int = DEFAULT_SIZE,
    min_side: int = 0,
    progress: Progress | None = None,
) -> BuildReport:
    """Crop every box of a Pascal VOC set (XML files and images anywhere under `src`)."""
    from core.formats.voc import parse_voc_xml

    root = Path(src).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{src} is not a folder")
    xmls = sorted(root.rglob("*.xml"), key=lambda p: natural_key(p.name))
    if not xmls:
        raise DatasetError(f"no .xml files under {src}")
    images: dict[str, Path] = {}
    for p in root.rglob("*"):
        if p.is_file() and is_image_name(p.name):
            images.setdefault(p.name, p)
            images.setdefault(p.stem, p)
    report = BuildReport()
    for i, xml in enumerate(xmls):
        try:
            name, _, raw = parse_voc_xml(xml.read_bytes(), file=xml.name)
            path = images.get(name) or images.get(Path(name).stem) or images.get(xml.stem)
            if path is None:
                raise DatasetError(f"image {name} not found under {src}")
            image = load_rgb_array(path)
        except (OSError, FormatError, DatasetError, ImageLoadError) as exc:
            report.skipped.append(f"{xml.name}: {exc}")
            continue
        boxes = [(b.xyxy, b.label) for b in raw]
        crop_boxes(dataset, image, Path(name).stem, boxes, report, size=size, min_side=min_side)
        if progress:
            progress(i + 1, len(xmls))
    return report
