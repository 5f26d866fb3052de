"""Scene sets: photos with labelled faces to test models on, from an annotation project (its
labelled boxes; nothing is ever written to it) or a Pascal VOC folder (XML files and images
anywhere under it; a photo whose image is missing is listed and skipped), and the mapping of
the scene classes to a model's classes (`default_mapping`, editable; `check_mapping`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.annotation.annotations import NONE
from core.errors import MaskStudioError
from core.fsutil import natural_key
from core.geometry import XYXY

#: Known spellings of the same classes across public sets (scene class -> model class), tried
#: after exact and normalised name matches. A mask worn wrongly is still a mask on the face.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "maskwearedincorrect": ("with_mask", "mask_worn_incorrectly", "mask"),
    "maskwornincorrectly": ("mask_worn_incorrectly", "with_mask", "mask"),
    "mask": ("with_mask",),
    "withmask": ("mask",),
    "nomask": ("without_mask",),
    "withoutmask": ("no_mask",),
}


class SceneError(MaskStudioError, ValueError):
    """A scene set or a model that cannot be scored, with the reason (names the classes)."""


# ----- scene sets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SceneFace:
    """A labelled face of a scene: its label and its box. Built as SceneFace(label, box); the
    box may be given as 4 numbers and is kept as a checked XYXY (MatchingError when invalid)."""

    label: str
    box: XYXY

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", XYXY.of(self.box))

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return self.box.xyxy


@dataclass(frozen=True)
class Scene:
    name: str
    path: Path
    faces: tuple[SceneFace, ...]


@dataclass(frozen=True)
class SceneSet:
    """Photos with labelled faces. `kind` is "project" or "voc"; `skipped` lists what was left
    out and why; `classes` counts faces per scene class."""

    name: str
    kind: str
    source: str
    scenes: tuple[Scene, ...]
    skipped: tuple[str, ...] = ()

    @property
    def classes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.scenes:
            for f in s.faces:
                out[f.label] = out.get(f.label, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: natural_key(kv[0])))

    @property
    def faces(self) -> int:
        return sum(len(s.faces) for s in self.scenes)

    def subset(self, names: Iterable[str]) -> SceneSet:
        keep = set(names)
        return SceneSet(
            self.name, self.kind, self.source, tuple(s for s in self.scenes if s.name in keep), self.skipped
        )


def load_scene_set(source: str | Path, root: Path | None = None) -> SceneSet:
    """A project of the workspace (by name) or a Pascal VOC folder (by path)."""
    from core.annotation.projects import list_projects

    text = str(source)
    if text in list_projects(root):
        return _project_scenes(text, root)
    path = Path(text).expanduser()
    if path.is_dir():
        return _voc_scenes(path)
    raise SceneError(f"{text!r} is neither a project of this workspace nor a folder")


def scene_sources(root: Path | None = None) -> list[str]:
    """Projects with at least one labelled box (a class other than None)."""
    from core.annotation.projects import Project, list_projects

    out = []
    for name in list_projects(root):
        try:
            ann = Project.open(name, root).load()
        except MaskStudioError:
            continue
        if any(b.label != NONE for img in ann.images for b in ann.boxes(img)):
            out.append(name)
    return out


def _project_scenes(name: str, root: Path | None) -> SceneSet:
    from core.annotation.projects import Project

    project = Project.open(name, root)
    ann = project.load()
    scenes, skipped = [], []
    for image in sorted(ann.images, key=natural_key):
        boxes = ann.boxes(image)
        if not any(b.label != NONE for b in boxes):
            continue
        try:
            path = project.image_path(image)
            if not path.is_file():
                raise FileNotFoundError(image)
        except (MaskStudioError, OSError):
            skipped.append(f"{image}: the image file is missing")
            continue
        scenes.append(Scene(image, path, tuple(SceneFace(b.label, XYXY.of(b)) for b in boxes)))
    if not scenes:
        raise SceneError(
            f"project {name!r} has no image with labelled boxes: give its faces a category "
            "(other than None) on the Annotate page first"
        )
    return SceneSet(name, "project", name, tuple(scenes), tuple(skipped))


def _voc_scenes(folder: Path) -> SceneSet:
    from core.annotation.formats.voc import parse_voc_xml, voc_folder_files, voc_image
    from core.errors import FormatError

    xmls, images = voc_folder_files(folder)
    if not xmls:
        raise SceneError(f"no Pascal VOC .xml files under {folder}")
    scenes, skipped = [], []
    for xml in xmls:
        try:
            name, _, raw = parse_voc_xml(xml.read_bytes(), file=xml.name)
        except (OSError, FormatError) as exc:
            skipped.append(f"{xml.name}: {exc}")
            continue
        path = voc_image(images, name, xml)
        if path is None:
            skipped.append(f"{xml.name}: image {name} is missing")
            continue
        if not raw:
            continue
        scenes.append(Scene(path.name, path, tuple(SceneFace(b.label, XYXY.of(b)) for b in raw)))
    if not scenes:
        raise SceneError(
            f"no photo with labelled boxes under {folder}" + (f" ({len(skipped)} skipped)" if skipped else "")
        )
    return SceneSet(folder.name, "voc", str(folder), tuple(scenes), tuple(skipped))


# ----- class mapping ------------------------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


def default_mapping(scene_classes: Iterable[str], model_labels: Sequence[str]) -> dict[str, str | None]:
    """{scene class: model class or None}: the same name, else the same letters and digits
    (`No Mask` = `no_mask`), else a known alias (ALIASES); None when nothing fits. "None"
    (unlabelled) boxes map to nothing."""
    by_norm = {_norm(m): m for m in model_labels}
    out: dict[str, str | None] = {}
    for c in scene_classes:
        if c == NONE:
            out[c] = None
        elif c in model_labels:
            out[c] = c
        elif _norm(c) in by_norm:
            out[c] = by_norm[_norm(c)]
        else:
            out[c] = next((by_norm[_norm(a)] for a in ALIASES.get(_norm(c), ()) if _norm(a) in by_norm), None)
    return out


def check_mapping(
    mapping: Mapping[str, str | None], scene_set: SceneSet, model_labels: Sequence[str]
) -> dict[str, str | None]:
    """The mapping for every scene class (missing ones: None), checked. SceneError when a target
    is not a model class or when no scene class maps to one (the message names them)."""
    classes = list(scene_set.classes)
    out = {c: (mapping.get(c) or None) for c in classes}
    bad = sorted({t for t in out.values() if t is not None and t not in model_labels})
    if bad:
        raise SceneError(
            f"mapped to {', '.join(bad)}, which the model does not have ({', '.join(model_labels)})"
        )
    if not any(out.values()):
        raise SceneError(
            f"the scene classes ({', '.join(classes)}) match none of the model's classes "
            f"({', '.join(model_labels)}); map them first"
        )
    return out
