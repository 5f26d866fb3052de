"""Import a Pascal VOC set (XML files and images anywhere under a folder) as face crops, through
the staged build of core.data.build: the labelled boxes, the face detector's boxes of the
labelled faces, or both."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from core.annotation.annotations import NONE
from core.annotation.formats.voc import parse_voc_xml, voc_folder_files, voc_image
from core.data.build import BuildReport, crop_boxes, staged_build
from core.data.dataset import Dataset, refuse_shared_folders
from core.data.fingerprints import Progress
from core.data.provenance import record_sources, sha256_file, source_record
from core.errors import DatasetError, FormatError, ImageLoadError
from core.geometry import XYXY, match_boxes
from core.imaging import CROP_SIZE, load_rgb_array

VOC_CROPS_TRUTH, VOC_CROPS_DETECTOR, VOC_CROPS_BOTH = "truth", "detector", "both"
VOC_CROP_MODES = (VOC_CROPS_TRUTH, VOC_CROPS_DETECTOR, VOC_CROPS_BOTH)


# ----- Pascal VOC scene sets -----------------------------------------------------------
def _detected_boxes(
    detector: Any, image: np.ndarray, boxes: Sequence[tuple[tuple[float, float, float, float], str]]
) -> dict[int, tuple[float, float, float, float]]:
    """{index of a labelled box: the detector's box matching it at IoU >= 0.5}."""
    dets = detector.detect(image)
    result = match_boxes(dets, [xyxy for xyxy, _ in boxes])
    return {t: XYXY.of(dets[p]).xyxy for p, t, _ in result.pairs}


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
            crop = partial(
                crop_boxes, size=size, min_side=min_side, stage=stage, provenance=provenance, origin=origin
            )
            crop(dataset, image, Path(name).stem, boxes, report)
            if detector_crops == VOC_CROPS_BOTH:  # plus the detector's crop of each face it finds
                det = [(found[n], lb) if n in found else (xy, NONE) for n, (xy, lb) in enumerate(boxes)]
                crop(dataset, image, f"{Path(name).stem}_det", det, report)
            if progress:
                progress(i + 1, len(xmls))
    if report.written or report.unchanged:
        record_sources(dataset.root, provenance)
    return report
