"""Import a class-folder dataset (one folder per class, from a folder or a zip) into a dataset,
through the staged build of core.data.build; files that are no images are listed, never fatal."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePosixPath

from core.data.build import BuildReport, Staging, png_bytes, staged_build, write_file
from core.data.dataset import Dataset, label_folder, refuse_shared_folders
from core.data.fingerprints import WORKERS, FileInfo, Progress, fingerprint, remember
from core.data.provenance import record_sources, source_record
from core.errors import DatasetError, ImageLoadError
from core.fsutil import natural_key, safe_name
from core.imaging import is_image_name, load_rgb_array

#: Formats keras.utils.image_dataset_from_directory reads; others are converted to PNG on import.
KERAS_FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "BMP": (".bmp",), "GIF": (".gif",)}
MAX_ZIP_BYTES = 4 * 1024**3
MAX_MEMBER_BYTES = 100 * 1024**2
#: Why a file of a class-folder dataset is not imported (the preview already lists them).
IGNORED_REASON = "not an image in a class folder"


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
            sources.append((parts[-2], parts[-1], partial(archive.read, m)))
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
