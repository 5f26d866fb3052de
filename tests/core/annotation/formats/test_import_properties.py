"""Property-based tests: random JSON, XML, ZIP and raw bytes fed to every importer.

Only clear errors (MaskStudioError, in practice FormatError/DatasetError) come out; a failed import
leaves the saved file byte for byte as it was; what an import accepts can be saved and read back.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.annotation.annotations import Box
from core.annotation.formats import annotation_io
from core.annotation.projects import Project
from core.data.dataset import Dataset
from core.data.folder_import import import_zip
from core.errors import MaskStudioError
from tests.images import image_bytes, raw_zip

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=2000),
    st.just(10**400),  # too large for a float
)
# Lone surrogates, NFD accents, separators and over-long names are the inputs that broke imports.
text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=12),
    st.lists(
        st.sampled_from(["a", "B", ".jpg", "\ud800", "\udfff", "e\u0301", " ", "/", "😷"]), max_size=8
    ).map("".join),
    st.just("x" * 300 + ".jpg"),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
rect = st.lists(numbers, min_size=0, max_size=5)
seed_like = st.fixed_dictionaries(
    {
        "categories": st.lists(text, max_size=4).map(lambda c: ["None", *c]),
        "images": st.dictionaries(
            text,
            st.fixed_dictionaries(
                {
                    "rectangles": st.lists(rect, max_size=4),
                    "rect_to_category": st.lists(st.integers(-2, 6) | text, max_size=4),
                },
                optional={"rect_scores": st.lists(numbers | st.none(), max_size=4), "src": text},
            ),
            max_size=3,
        ),
    }
)
coco_like = st.fixed_dictionaries(
    {
        "images": st.lists(
            st.fixed_dictionaries(
                {"id": st.integers(0, 3) | text, "file_name": text, "width": numbers, "height": numbers}
            ),
            max_size=3,
        ),
        "categories": st.lists(
            st.fixed_dictionaries({"id": st.integers(0, 3) | text, "name": text}), max_size=3
        ),
        "annotations": st.lists(
            st.fixed_dictionaries(
                {"image_id": st.integers(0, 3) | text, "category_id": st.integers(0, 3), "bbox": rect}
            ),
            max_size=4,
        ),
    }
)


def _voc_xml(filename: str, name: str, coords: list[str]) -> bytes:
    bndbox = "".join(
        f"<{k}>{escape(v)}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), coords, strict=False)
    )
    return (
        f"<annotation><filename>{escape(filename)}</filename><size><width>64</width><height>48</height>"
        f"</size><object><name>{escape(name)}</name><bndbox>{bndbox}</bndbox></object></annotation>"
    ).encode("utf-8", "surrogatepass")


xml_docs = st.builds(
    _voc_xml,
    text,
    text,
    st.lists(st.one_of(numbers.map(str), text), min_size=0, max_size=4),
)


member_names = st.text(st.sampled_from("ab/._-\\ ..é"), min_size=1, max_size=15) | st.builds(
    lambda folder, stem, ext: f"{folder}/{stem}{ext}",
    st.sampled_from(["with mask", "with_mask", "no mask", "😷", "..", "маска"]),
    st.text(st.sampled_from("ab1 ."), min_size=1, max_size=5),
    st.sampled_from([".png", ".txt", ".xml", ".PNG"]),
)
zips = st.lists(
    st.tuples(member_names, st.just(image_bytes(colour=(10, 200, 30))) | st.binary(max_size=64)), max_size=5
).map(lambda members: raw_zip(dict(members)))


@pytest.fixture
def project(workspace: Path) -> Project:
    p = Project.create("fuzz")
    p.add_image("a.png", image_bytes(colour=(10, 200, 30)))
    with p.edit() as ann:
        ann.add_category("mask")
        ann.add_box("a.png", Box(2, 2, 30, 30, "mask"))
    return p


def _check(project: Project, fmt: str, filename: str, data: bytes) -> None:
    """Import `data`; on failure the saved file is unchanged, on success it saves and reloads."""
    before = project.annotations_path.read_bytes()
    try:
        result = annotation_io.import_annotations(project, fmt, filename, data)
    except MaskStudioError:
        assert project.annotations_path.read_bytes() == before
        return
    project.import_annotations(result.annotations, replace=True)
    again = project.load()
    assert sum(len(a.boxes) for a in again.images.values()) == result.box_count
    for name in again.images:  # every stored name can be looked up without an OSError
        try:
            project.image_path(name)
        except MaskStudioError:
            pass
    project.annotations_path.write_bytes(before)


@SETTINGS
@given(data=st.binary(max_size=200), fmt=st.sampled_from(["seed", "coco", "voc", "yolo"]))
def test_random_bytes(project: Project, data: bytes, fmt: str) -> None:
    _check(project, fmt, {"voc": "a.xml", "yolo": "a.zip"}.get(fmt, "a.json"), data)


@SETTINGS
@given(value=json_values, fmt=st.sampled_from(["seed", "coco"]))
def test_random_json(project: Project, value: object, fmt: str) -> None:
    _check(project, fmt, "a.json", json.dumps(value).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(doc=seed_like)
def test_seed_shaped_json(project: Project, doc: dict) -> None:
    _check(project, "seed", "seed.json", json.dumps(doc).encode())


@SETTINGS
@given(doc=coco_like)
def test_coco_shaped_json(project: Project, doc: dict) -> None:
    _check(project, "coco", "coco.json", json.dumps(doc).encode())


@SETTINGS
@given(xml=xml_docs)
def test_voc_xml(project: Project, xml: bytes) -> None:
    _check(project, "voc", "a.xml", xml)
    _check(project, "voc", "a.zip", raw_zip({"ann/a.xml": xml}))


@SETTINGS
@given(data=zips, fmt=st.sampled_from(["voc", "yolo"]))
def test_random_zips(project: Project, data: bytes, fmt: str) -> None:
    _check(project, fmt, "a.zip", data)


@SETTINGS
@given(data=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
       name=st.sampled_from(["c.json", "c.csv", "c.xlsx"]))  # fmt: skip
def test_category_files(data: bytes, name: str) -> None:
    try:
        names = annotation_io.import_categories(name, data)
    except MaskStudioError:
        return
    assert all(isinstance(n, str) for n in names)


@SETTINGS
@given(data=zips | st.binary(max_size=100))
def test_dataset_zips(workspace: Path, data: bytes) -> None:
    ds = Dataset.open("fuzzed") if (workspace / "datasets" / "fuzzed").is_dir() else Dataset.create("fuzzed")
    before = sorted(p.relative_to(ds.root) for p in ds.root.rglob("*") if p.name != ".lock")
    try:
        import_zip(data, ds)
    except MaskStudioError:
        after = sorted(p.relative_to(ds.root) for p in ds.root.rglob("*") if p.name != ".lock")
        assert after == before
