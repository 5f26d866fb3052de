"""The seed JSON layout: the seed example as is, and bad files located by file/image/field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.annotation.annotations import Annotations, Box, ImageAnnotations
from core.annotation.formats.seed_json import dumps_seed_json, from_seed_dict, loads_seed_json, to_seed_dict
from core.errors import FormatError

SEED = {
    "categories": ["None", "mask", "no_mask", "op_mask", "ffp2", "other_mask"],
    "images": {
        "IMG_1342.JPG": {
            "rectangles": [[421.0, 144.0, 853.0, 727.0]],
            "rect_to_category": [3],
            "dst": 0,
            "src": "~/NNL-2021-F/img/to_annotate/IMG_1342.JPG",
        }
    },
    "destinations": ["None"],
}


def test_seed_example_imports_as_is() -> None:
    result = loads_seed_json(json.dumps(SEED))
    ann = result.annotations
    assert result.skipped == []
    assert ann.categories == SEED["categories"]
    assert ann.boxes("IMG_1342.JPG") == [Box(421, 144, 853, 727, "op_mask")]


def test_seed_fields_survive_a_save() -> None:
    out = json.loads(dumps_seed_json(loads_seed_json(json.dumps(SEED)).annotations))
    ids = out["images"]["IMG_1342.JPG"].pop("rect_ids")  # the one key the save adds
    assert len(ids) == 1
    assert out == SEED  # dst, src, destinations and the float coordinates as they came


def test_ids_are_derived_the_same_way_when_the_file_has_none() -> None:
    first = loads_seed_json(json.dumps(SEED)).annotations.boxes("IMG_1342.JPG")[0].id
    again = loads_seed_json(json.dumps(SEED)).annotations.boxes("IMG_1342.JPG")[0].id
    assert first and first == again  # two tabs reading one file agree on its ids


def test_ids_survive_a_save_and_a_load() -> None:
    seed = json.loads(json.dumps(SEED))
    seed["images"]["IMG_1342.JPG"]["rect_ids"] = ["face-7"]
    ann = loads_seed_json(json.dumps(seed)).annotations
    assert ann.boxes("IMG_1342.JPG")[0].id == "face-7"
    out = to_seed_dict(ann)
    assert out["images"]["IMG_1342.JPG"]["rect_ids"] == ["face-7"]
    assert loads_seed_json(json.dumps(out)).annotations.boxes("IMG_1342.JPG")[0].id == "face-7"


@pytest.mark.parametrize(
    "ids",
    [["a", "b"], "face-1", [7], ["bad id!"], ["x" * 41]],
)
def test_bad_ids_are_refused(ids: object) -> None:
    seed = json.loads(json.dumps(SEED))
    seed["images"]["IMG_1342.JPG"]["rect_ids"] = ids
    with pytest.raises(FormatError, match="rect_ids"):
        loads_seed_json(json.dumps(seed))


def test_two_boxes_with_one_id_are_refused() -> None:
    seed = {
        "categories": ["None", "mask"],
        "images": {
            "a.jpg": {
                "rectangles": [[0, 0, 20, 20], [40, 40, 60, 60]],
                "rect_to_category": [1, 1],
                "rect_ids": ["same", "same"],
            }
        },
    }
    with pytest.raises(FormatError, match="two boxes"):
        loads_seed_json(json.dumps(seed))


def test_a_repeated_id_in_memory_is_not_written_twice() -> None:
    ann = Annotations(["mask"])
    ann.images["a.jpg"] = ImageAnnotations([Box(0, 0, 20, 20, "mask", id="x"), Box(40, 40, 60, 60, id="x")])
    ids = to_seed_dict(ann)["images"]["a.jpg"]["rect_ids"]
    assert len(set(ids)) == 2 and ids[0] == "x"


def test_scores_are_written_only_when_present() -> None:
    ann = loads_seed_json(json.dumps(SEED)).annotations
    assert "rect_scores" not in to_seed_dict(ann)["images"]["IMG_1342.JPG"]
    ann.set_label("IMG_1342.JPG", 0, "mask", 0.87654)
    assert to_seed_dict(ann)["images"]["IMG_1342.JPG"]["rect_scores"] == [0.8765]
    ann.set_label("IMG_1342.JPG", 0, "mask", float("nan"))
    assert to_seed_dict(ann)["images"]["IMG_1342.JPG"]["rect_scores"] == [None]  # stays loadable


def _seed(**entry: Any) -> dict[str, Any]:
    image = {"rectangles": [[10, 10, 60, 60]], "rect_to_category": [1], **entry}
    return {"categories": ["None", "mask"], "images": {"a.jpg": image}}


def _replace(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**data, key: value}


@pytest.mark.parametrize(
    ("data", "image", "field"),
    [
        ([], "", ""),
        ({"images": {}}, "", "categories"),
        (_replace(_seed(), "categories", "None,mask"), "", "categories"),
        (_replace(_seed(), "categories", ["None", 1]), "", "categories"),
        (_replace(_seed(), "categories", ["None", "mask", "mask"]), "", "categories[2]"),
        (_replace(_seed(), "categories", ["None", ""]), "", "categories[1]"),
        (_replace(_seed(), "images", [["a.jpg"]]), "", "images"),
        ({"categories": ["None"], "images": {"a.jpg": "boxes"}}, "a.jpg", ""),
        (_seed(rectangles="10,10,60,60"), "a.jpg", "rectangles"),
        (_seed(rectangles=[[10, 10, 60]]), "a.jpg", "rectangles[0]"),
        (_seed(rectangles=[["10", 10, 60, 60]]), "a.jpg", "rectangles[0]"),
        (_seed(rectangles=[[10, True, 60, 60]]), "a.jpg", "rectangles[0]"),
        (_seed(rectangles=[[-1, 10, 60, 60]]), "a.jpg", "rectangles[0]"),
        (_seed(rectangles=[[60, 60, 10, 10]]), "a.jpg", "rectangles[0]"),
        (_seed(rectangles=[[10, 10, 10, 60]]), "a.jpg", "rectangles[0]"),
        (_seed(rect_to_category=1), "a.jpg", "rect_to_category"),
        (_seed(rect_to_category=[]), "a.jpg", "rect_to_category"),
        (_seed(rect_to_category=["1"]), "a.jpg", "rect_to_category[0]"),
        (_seed(rect_to_category=[1.0]), "a.jpg", "rect_to_category[0]"),
        (_seed(rect_to_category=[2]), "a.jpg", "rect_to_category[0]"),
        (_seed(rect_to_category=[-1]), "a.jpg", "rect_to_category[0]"),
        (_seed(rect_scores=[0.5, 0.5]), "a.jpg", "rect_scores"),
        (_seed(rect_scores=["high"]), "a.jpg", "rect_scores[0]"),
    ],
)
def test_bad_structure_is_located(data: Any, image: str, field: str) -> None:
    with pytest.raises(FormatError) as info:
        from_seed_dict(data, file="ann.json")
    assert (info.value.file, info.value.image, info.value.field) == ("ann.json", image, field)


@pytest.mark.parametrize("name", ["../evil.jpg", "sub/a.jpg", "..\\evil.jpg", "C:evil.jpg", "..", " ", ""])
def test_image_names_with_folders_are_refused(name: str) -> None:
    data = {"categories": ["None"], "images": {name: {"rectangles": [], "rect_to_category": []}}}
    with pytest.raises(FormatError) as info:
        from_seed_dict(data, file="ann.json")
    assert (info.value.file, info.value.image) == ("ann.json", name)


@pytest.mark.parametrize(
    ("text", "image", "field"),
    [
        (
            '{"categories": ["None"], "images": {"a.jpg": {"rectangles": [[NaN, 1, 50, 50]]}}}',
            "a.jpg",
            "rectangles[0][0]",
        ),
        (
            '{"categories": ["None"], "images": {"a.jpg": {"rect_scores": [Infinity]}}}',
            "a.jpg",
            "rect_scores[0]",
        ),
        ('{"categories": ["None"], "images": {}, "destinations": [-Infinity]}', "", "destinations[0]"),
    ],
)
def test_nan_tokens_are_located(text: str, image: str, field: str) -> None:
    with pytest.raises(FormatError) as info:
        loads_seed_json(text, file="ann.json")
    assert (info.value.file, info.value.image, info.value.field) == ("ann.json", image, field)
    assert "not allowed" in info.value.detail


@pytest.mark.parametrize("text", [b"", b"{", b"\xff\xfe{}", b"[" * 100_000, b'{"a": 1} trailing'])
def test_unreadable_json(text: bytes) -> None:
    with pytest.raises(FormatError) as info:
        loads_seed_json(text, file="ann.json")
    assert info.value.file == "ann.json"


def test_boxes_breaking_rules_are_skipped_and_reported() -> None:
    data = _seed(
        rectangles=[[10, 10, 60, 60], [20, 20, 70, 70], [100, 100, 103, 200]], rect_to_category=[1, 1, 0]
    )
    result = from_seed_dict(data)
    assert [b.xyxy for b in result.annotations.boxes("a.jpg")] == [(10, 10, 60, 60)]
    assert len(result.skipped) == 2
    assert "a.jpg box 2" in result.skipped[0] and "a.jpg box 3" in result.skipped[1]


@pytest.mark.parametrize("flags", ["overlap", [None], [None, "too_big"], [None, 3]])
def test_bad_rect_flags_are_located(flags: Any) -> None:
    data = {
        "categories": ["None"],
        "images": {"a.jpg": {"rectangles": [[0, 0, 10, 10], [20, 20, 30, 30]], "rect_to_category": [0, 0]}},
    }
    data["images"]["a.jpg"]["rect_flags"] = flags
    with pytest.raises(FormatError) as info:
        from_seed_dict(data)
    assert (info.value.image, info.value.field) == ("a.jpg", "rect_flags")


def test_rect_flags_are_written_only_when_a_box_is_flagged_and_kept_on_load() -> None:
    data = {
        "categories": ["None"],
        "images": {
            "a.jpg": {
                "rectangles": [[0, 0, 40, 40], [5, 5, 20, 20]],
                "rect_to_category": [0, 0],
                "rect_flags": [None, "overlap"],
            },
            "b.jpg": {"rectangles": [[0, 0, 40, 40]], "rect_to_category": [0]},
        },
    }
    ann = from_seed_dict(data).annotations
    assert [b.flag for b in ann.boxes("a.jpg")] == [None, "overlap"]
    out = to_seed_dict(ann)
    assert out["images"]["a.jpg"]["rect_flags"] == [None, "overlap"]
    assert "rect_flags" not in out["images"]["b.jpg"]


def _seed_with_src(src: str) -> bytes:
    entry = {"rectangles": [[1, 2, 30, 40]], "rect_to_category": [0], "src": src}
    return json.dumps({"categories": ["None"], "images": {"IMG_1.jpg": entry}}).encode()


def test_an_upload_with_a_long_text_is_refused_naming_where() -> None:
    from core.annotation.formats.seed_json import MAX_TEXT_CHARS, import_seed_json

    assert import_seed_json(_seed_with_src("x" * MAX_TEXT_CHARS)).annotations.boxes("IMG_1.jpg")
    with pytest.raises(FormatError) as info:
        import_seed_json(_seed_with_src("x" * (MAX_TEXT_CHARS + 1)), file="big.json")
    err = info.value
    assert (err.file, err.image, err.field) == ("big.json", "IMG_1.jpg", "src")
    assert f"{MAX_TEXT_CHARS + 1:,} characters" in err.detail
    long_key = json.dumps({"categories": ["None"], "images": {}, "k" * (MAX_TEXT_CHARS + 1): 1}).encode()
    with pytest.raises(FormatError) as info:
        import_seed_json(long_key)
    assert info.value.field == "k" * 100


def test_an_upload_over_the_size_limit_is_refused_unparsed(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.annotation.formats.seed_json as seed_json

    parsed: list[int] = []
    monkeypatch.setattr(seed_json, "parse_json_text", lambda *a, **k: parsed.append(1))
    with pytest.raises(FormatError) as info:
        seed_json.import_seed_json(b" " * (seed_json.MAX_UPLOAD_BYTES + 1), file="big.json")
    assert "at most 64 MB" in info.value.detail and not parsed
