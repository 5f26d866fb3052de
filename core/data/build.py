"""Fill a dataset: crop an annotation project, import a class-folder dataset or a Pascal VOC set.

Crops use core.imaging.square_crop, the one crop Predict and Live use too: the box's short
side grows around its centre into a square (never a stretch), the part of the square outside
the image is filled by repeating the edge pixels (OpenCV BORDER_REPLICATE), and the square is
resized to `size` x `size`. A crop is saved as `<dataset>/<label>/<image-stem>_<n>.png`, `n`
being the box's 1-based number in its image (the annotator's "box n"); "None" boxes are
skipped. Unreadable inputs are skipped and listed, never fatal.

Every build is staged: files are written under `<dataset>/.staging-<id>/` and moved into their
class folders only when the whole build succeeded (under the dataset's lock). A build that
fails midway leaves the dataset exactly as it was. Labels that would share a class folder
(`no mask`, `no_mask`, `no/mask`) are refused with the mapping shown, never merged silently.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from core.annotation.annotations import NONE
from core.annotation.projects import Project
from core.data.dataset import Dataset, label_folder, refuse_shared_folders
from core.data.fingerprints import WORKERS, FileInfo, Progress, fingerprint, remember
from core.data.provenance import add_record, record_sources, sha256_bytes, sha256_file, source_record
from core.errors import BoxRejected, DatasetError, FormatError, ImageLoadError, WorkspaceError
from core.fsutil import atomic_write_bytes, natural_key, safe_name
from core.imaging import CROP_SIZE, is_image_name, load_rgb_array, square_crop
from core.locking import folder_lock

#: Formats keras.utils.image_dataset_from_directory reads; others are converted to PNG on import.
KERAS_FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "BMP": (".bmp",), "GIF": (".gif",)}
MAX_ZIP_BYTES = 4 * 1024**3
MAX_MEMBER_BYTES = 100 * 1024**2
VOC_CROPS_TRUTH, VOC_CROPS_DETECTOR, VOC_CROPS_BOTH = "truth", "detector", "both"
VOC_CROP_MODES = (VOC_CROPS_TRUTH, VOC_CROPS_DETECTOR, VOC_CROPS_BOTH)


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


class Staging:
    """The files of one build, written under `<root>/.staging-<id>/` until `commit` moves them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / f".staging-{uuid.uuid4().hex[:12]}"
        self.files: dict[Path, Path] = {}  # final path -> staged path

    def holds(self, target: Path) -> bool:
        return target in self.files

    def staged_bytes(self, target: Path) -> bytes:
        return self.files[target].read_bytes()

    def write(self, target: Path, data: bytes) -> None:
        staged = self.dir / target.relative_to(self.root)
        atomic_write_bytes(staged, data)
        self.files[target] = staged

    def commit(self, report: BuildReport | None = None) -> None:
        """Move every staged file into place (a name taken meanwhile gets a numbered name)."""
        with folder_lock(self.root):
            renamed: dict[str, str] = {}
            for target, staged in self.files.items():
                final = target
                stem, ext = os.path.splitext(target.name)
                n = 2
                while final.exists():
                    final = target.parent / f"{stem}-{n}{ext}"
                    n += 1
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, final)
                if final != target:
                    renamed[target.relative_to(self.root).as_posix()] = final.relative_to(
                        self.root
                    ).as_posix()
            if report is not None and renamed:
                report.written = [renamed.get(p, p) for p in report.written]
        self.abort()

    def abort(self) -> None:
        """Forget every staged file (nothing reaches the dataset)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.files.clear()


@contextmanager
def staged_build(dataset: Dataset, report: BuildReport) -> Iterator[Staging]:
    """A Staging committed when the body ends normally, discarded when it raises."""
    stage = Staging(dataset.root)
    try:
        yield stage
    except BaseException:
        stage.abort()
        raise
    stage.commit(report)


def write_file(
    folder: Path,
    filename: str,
    data: bytes,
    report: BuildReport,
    root: Path,
    *,
    stage: Staging | None = None,
) -> str:
    """Write `data` as `folder/filename` atomically; an identical file is kept, a different one
    gets a numbered name (`-2`). Records the path in `report` and returns it (relative).

    With `stage`, the file is staged and reaches `folder` when the stage commits."""
    if stage is None:
        folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    stem, ext = os.path.splitext(filename)
    n = 2
    while target.exists() or (stage is not None and stage.holds(target)):
        same = (
            stage.staged_bytes(target) == data
            if stage is not None and stage.holds(target)
            else target.stat().st_size == len(data) and target.read_bytes() == data
        )
        if same:
            rel = target.relative_to(root).as_posix()
            report.unchanged.append(rel)
            return rel
        target = folder / f"{stem}-{n}{ext}"
        n += 1
    if stage is not None:
        stage.write(target, data)
    else:
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
    size: int = CROP_SIZE,
    min_side: int = 0,
    folder: Path | None = None,
    stage: Staging | None = None,
    provenance: dict[str, dict[str, str]] | None = None,
    origin: dict[str, str] | None = None,
) -> None:
    """Crop every (xyxy, label) box that is not "None" into its label folder (or `folder`).

    A box square_crop refuses (far larger than the image) is skipped and listed; the rest of
    the build goes on. With `provenance` and `origin` (core.data.provenance.source_record of the
    photo), each crop's sha256 is mapped to its source photo in `provenance`."""
    stem = safe_name(stem, fallback="image")
    for n, (xyxy, label) in enumerate(boxes, start=1):
        if label == NONE and folder is None:
            continue
        x1, y1, x2, y2 = xyxy
        if max(x2 - x1, y2 - y1) < max(min_side, 1):
            report.skipped.append(f"{stem} box {n}: smaller than {min_side} px")
            continue
        try:
            crop = square_crop(image, xyxy, size)
        except BoxRejected as exc:
            report.skipped.append(f"{stem} box {n}: {exc.message}")
            continue
        target = folder if folder is not None else dataset.label_dir(label)
        data = png_bytes(crop)
        write_file(target, f"{stem}_{n}.png", data, report, dataset.root, stage=stage)
        if provenance is not None and origin is not None:
            add_record(provenance, sha256_bytes(data), origin)


def crop_project(
    project: Project,
    dataset: Dataset,
    *,
    size: int = CROP_SIZE,
    min_side: int = 0,
    progress: Progress | None = None,
    include_flagged: bool = False,
) -> BuildReport:
    """Crop every labelled box of an annotation project into `dataset`.

    Boxes imported as breaking a box rule (`Box.flag`) are skipped unless `include_flagged`.
    """
    if size < 8 or size > 2048:
        raise DatasetError(f"crop size must be 8..2048 px, got {size}")
    ann = project.load()
    names = sorted((n for n in ann.images if any(b.label != NONE for b in ann.boxes(n))), key=natural_key)
    used = {b.label for n in names for b in ann.boxes(n) if b.label != NONE}
    refuse_shared_folders([c for c in ann.categories if c in used])
    report = BuildReport()
    provenance: dict[str, dict[str, str]] = {}
    with staged_build(dataset, report) as stage:
        for i, name in enumerate(names):
            try:
                path = project.image_path(name)
                image = load_rgb_array(path)
                origin = source_record(f"project:{project.name}", name, sha256_file(path))
            except (ImageLoadError, WorkspaceError, OSError) as exc:
                report.skipped.append(f"{name}: {exc}")
                continue
            boxes = [
                (b.xyxy, b.label if include_flagged or b.flag is None else NONE) for b in ann.boxes(name)
            ]
            crop_boxes(
                dataset,
                image,
                Path(name).stem,
                boxes,
                report,
                size=size,
                min_side=min_side,
                stage=stage,
                provenance=provenance,
                origin=origin,
            )
            if progress:
                progress(i + 1, len(names))
    if report.written or report.unchanged:
        record_sources(dataset.root, provenance)
    return report


# ----- class-folder datasets -----------------------------------------------------------
Source = tuple[str, str, Callable[[], bytes]]  # (label, file name, read bytes)


def import_sources(
    dataset: Dataset,
    sources: Sequence[Source],
    *,
    progress: Progress | None = None,
    label_map: Mapping[str, str | None] | None = None,
    origin: str = "",
) -> BuildReport:
    """Copy (label, name, reader) sources into class folders after checking each decodes.

    Formats Keras cannot read (WEBP, ...) are re-encoded to PNG. The fingerprints computed on
    the way are cached, so the health report does not decode the files again. `label_map`
    renames source classes (a class mapped to None or "" is left out, and listed as skipped);
    `origin` (e.g. "folder:<name>") is recorded as each file's source in .sources.json.
    """
    report = BuildReport()
    if label_map:
        kept: list[Source] = []
        for label, name, read in sources:
            target = label_map.get(label, label)
            if not target:
                report.skipped.append(f"{label}/{name}: class {label!r} left out by the label mapping")
                continue
            kept.append((target, name, read))
        sources = kept
    refuse_shared_folders(dict.fromkeys(label for label, _, _ in sources), what="class folders")

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
    with staged_build(dataset, report) as stage, ThreadPoolExecutor(WORKERS) as pool:
        for start in range(0, len(sources), 64):  # bounded memory: 64 files in flight
            for src, data, info in pool.map(load, sources[start : start + 64]):
                stored = _store(dataset, src, data, info, report, stage=stage)
                if stored is not None:
                    infos.append(stored)
            if progress:
                progress(min(start + 64, len(sources)), len(sources))
    final = set(report.written) | set(report.unchanged)
    remember(dataset.root, [i for i in infos if i.path in final])
    if origin:
        record_sources(
            dataset.root,
            {i.sha256: source_record(origin, i.path, i.sha256) for i in infos if i.path in final},
        )
    return report


def _store(
    dataset: Dataset,
    src: Source,
    data: bytes | None,
    info: FileInfo | str,
    report: BuildReport,
    *,
    stage: Staging | None = None,
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
    rel = write_file(dataset.label_dir(label), stem + ext, data, report, dataset.root, stage=stage)
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
    src: str | os.PathLike[str],
    dataset: Dataset,
    *,
    progress: Progress | None = None,
    label_map: Mapping[str, str | None] | None = None,
) -> BuildReport:
    """Copy a `<class>/<image>` folder dataset into `dataset` (the original is never touched).
    `label_map` renames classes on the way ({"mask": "with_mask"}; None leaves a class out)."""
    if dataset.root == Path(src).resolve() or dataset.root in Path(src).resolve().parents:
        raise DatasetError("cannot import a dataset into itself")
    sources, ignored = folder_sources(src)
    origin = f"folder:{Path(src).expanduser().resolve().name}"
    report = import_sources(dataset, sources, progress=progress, label_map=label_map, origin=origin)
    report.skipped += [f"{name}: {IGNORED_REASON}" for name in ignored]
    return report


def zip_sources(data: bytes, *, skipped: list[str] | None = None) -> list[Source]:
    """Sources from a ZIP of `[top/]<class>/<image>` members (size-limited, no path escapes).

    Members left out for a reason the user should see (a `..` or absolute path, over the size
    limit, not an image, not in a class folder) are appended to `skipped` with the reason."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"not a ZIP file ({exc})") from exc
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise DatasetError("the ZIP unpacks to more than 4 GB")
    sources: list[Source] = []
    left_out: list[str] = []
    for m in members:
        name = m.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if ".." in parts or name.startswith("/") or (parts and parts[0].endswith(":")):
            left_out.append(f"{m.filename}: a path that leaves the archive ('..' or absolute), not read")
            continue
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue  # hidden files and macOS litter
        if len(parts) < 2:
            left_out.append(f"{m.filename}: not inside a class folder")
        elif not is_image_name(parts[-1]):
            left_out.append(f"{m.filename}: not an image file name")
        elif m.file_size > MAX_MEMBER_BYTES:
            left_out.append(f"{m.filename}: {m.file_size:,} bytes, over the {MAX_MEMBER_BYTES:,}-byte limit")
        else:
            sources.append((parts[-2], parts[-1], lambda m=m: archive.read(m)))
    if skipped is not None:
        skipped.extend(left_out)
    if not sources:
        raise DatasetError("no images in class folders inside the ZIP")
    return sources


def import_zip(data: bytes, dataset: Dataset, *, progress: Progress | None = None) -> BuildReport:
    """Import a ZIP of class folders; members left out are listed in the report's `skipped`."""
    left_out: list[str] = []
    sources = zip_sources(data, skipped=left_out)
    report = import_sources(dataset, sources, progress=progress)
    report.skipped += left_out
    return report


# ----- Pascal VOC scene sets -----------------------------------------------------------
def _detected_boxes(
    detector: Any, image: np.ndarray, boxes: Sequence[tuple[tuple[float, float, float, float], str]]
) -> dict[int, tuple[float, float, float, float]]:
    """{index of a labelled box: the detector's box matching it at IoU >= 0.5}."""
    from core.geometry import match_boxes

    dets = detector.detect(image)
    result = match_boxes([d.xyxy for d in dets], [xyxy for xyxy, _ in boxes])
    return {t: tuple(float(v) for v in dets[p].xyxy) for p, t, _ in result.pairs}


#: Why a file of a class-folder dataset is not imported (the preview already lists them).
IGNORED_REASON = "not an image in a class folder"


def import_voc(
    src: str | os.PathLike[str],
    dataset: Dataset,
    *,
    size: int = CROP_SIZE,
    min_side: int = 0,
    progress: Progress | None = None,
    label_map: Mapping[str, str | None] | None = None,
    detector_crops: str = VOC_CROPS_TRUTH,
    detector: Any = None,
) -> BuildReport:
    """Crop every box of a Pascal VOC set (XML files and images anywhere under `src`).

    `label_map` renames classes ({"mask_weared_incorrect": "with_mask"}; a class mapped to None
    or "" is left out). Each crop's source photo is recorded (core.data.provenance).

    `detector_crops`: "truth" crops the labelled boxes; "detector" crops, for each labelled box
    that the face detector finds (IoU >= 0.5), the detector's box instead, as Predict will crop
    that face; "both" keeps the labelled crop and adds the detector's (`<photo>_det_<n>.png`).
    `detector` defaults to Predict's default detector."""
    from core.annotation.formats.voc import parse_voc_xml, voc_folder_files, voc_image

    if detector_crops not in VOC_CROP_MODES:
        raise DatasetError(
            f"detector_crops must be one of {', '.join(VOC_CROP_MODES)}, got {detector_crops!r}"
        )
    if detector_crops != VOC_CROPS_TRUTH and detector is None:
        from core.vision.detectors import DEFAULT_PREDICT_DETECTOR, get_detector

        detector = get_detector(DEFAULT_PREDICT_DETECTOR)

    root = Path(src).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{src} is not a folder")
    xmls, images = voc_folder_files(root)
    if not xmls:
        raise DatasetError(f"no .xml files under {src}")
    report = BuildReport()
    provenance: dict[str, dict[str, str]] = {}
    source = f"voc:{root.resolve().name}"
    label_map = dict(label_map or {})
    labels: dict[str, None] = {}
    with staged_build(dataset, report) as stage:
        for i, xml in enumerate(xmls):
            try:
                name, _, raw = parse_voc_xml(xml.read_bytes(), file=xml.name)
                path = voc_image(images, name, xml)
                if path is None:
                    raise DatasetError(f"image {name} not found under {src}")
                image = load_rgb_array(path)
                origin = source_record(source, path.name, sha256_file(path))
            except (OSError, FormatError, DatasetError, ImageLoadError) as exc:
                report.skipped.append(f"{xml.name}: {exc}")
                continue
            boxes = []
            for n, b in enumerate(raw, start=1):
                target = label_map.get(b.label, b.label)
                if not target:
                    report.skipped.append(
                        f"{xml.name} box {n}: class {b.label!r} left out by the label mapping"
                    )
                    target = NONE  # keeps the box numbers; "None" boxes are never cropped
                boxes.append((b.xyxy, target))
            # after the mapping: merging on purpose is fine, two names for one folder are not
            labels.update(dict.fromkeys(t for _, t in boxes if t != NONE))
            refuse_shared_folders(labels, what="VOC object names")  # before any file is moved in
            found = _detected_boxes(detector, image, boxes) if detector_crops != VOC_CROPS_TRUTH else {}
            if detector_crops == VOC_CROPS_DETECTOR:
                boxes = [(found.get(n, xyxy), label) for n, (xyxy, label) in enumerate(boxes)]
            crop = {
                "size": size,
                "min_side": min_side,
                "stage": stage,
                "provenance": provenance,
                "origin": origin,
            }
            crop_boxes(dataset, image, Path(name).stem, boxes, report, **crop)
            if detector_crops == VOC_CROPS_BOTH:  # plus the detector's crop of each face it finds
                det = [(found[n], lb) if n in found else (xy, NONE) for n, (xy, lb) in enumerate(boxes)]
                crop_boxes(dataset, image, f"{Path(name).stem}_det", det, report, **crop)
            if progress:
                progress(i + 1, len(xmls))
    if report.written or report.unchanged:
        record_sources(dataset.root, provenance)
    return report
