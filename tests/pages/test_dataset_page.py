"""AppTest of pages/dataset.py: build from a project, import, review, health, split; errors shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.widgets import charts
from core.annotation.annotations import Box, ImageAnnotations
from core.annotation.projects import Project
from core.data.dataset import UNLABELLED, Dataset, list_datasets
from tests.core.data.test_dataset import put, smooth_image
from tests.images import array_bytes
from tests.pages.conftest import open_page, run, texts


def app() -> AppTest:
    return open_page("dataset.py")


def preview_voc(src: Path) -> tuple[AppTest, str]:
    """The page with `src` typed into the VOC import: (the app, its texts unescaped); one file
    of `src` is skipped."""
    at = run(app())
    at.text_input(key="ds_voc_path").set_value(str(src))
    run(at)
    assert "1 file(s) will be skipped" in " ".join(e.label for e in at.expander)
    return at, texts(at).replace("\\", "")


def button(at: AppTest, key: str):
    return at.button(key=key)


@pytest.fixture
def project(workspace: Path) -> Project:
    p = Project.create("shots")
    for i in range(3):
        p.add_image(f"photo{i}.png", array_bytes(smooth_image(i, (80, 60))))
    with p.edit() as ann:
        ann.add_category("mask")
        ann.add_category("no mask")
        ann.images["photo0.png"] = ImageAnnotations(
            [Box(0, 0, 30, 30, "mask"), Box(40, 10, 70, 40, "no mask")]
        )
        ann.images["photo1.png"] = ImageAnnotations([Box(10, 10, 40, 40, "mask"), Box(50, 0, 80, 30, "None")])
    return p


def test_empty_workspace(workspace: Path) -> None:
    at = run(app())
    assert "No dataset yet" in texts(at)
    at.get("button_group")[0].set_value("Health")
    assert "Build a dataset first" in texts(run(at))


def test_build_from_a_project_shows_class_counts(project: Project) -> None:
    at = run(app())
    at.number_input(key="ds_crop_size").set_value(64)
    button(at, "ds_crop_go").click()
    run(at)
    out = texts(at)
    assert "Cropped into shots_crops: 3 new file(s) (mask: 2, no_mask: 1)" in out
    assert "mask: 2 · no_mask: 1" in out  # the sidebar's class counts
    assert at.selectbox(key="ds_pick").value == "shots_crops"
    assert Dataset.open("shots_crops").files("mask") == ["mask/photo0_1.png", "mask/photo1_1.png"]
    assert at.text_input(key="ds_crop_name_shots_crops").value == "shots_crops_2"  # the next free name
    # Same name again: refused, nothing overwritten.
    at.text_input(key="ds_crop_name_shots_crops").set_value("shots_crops")
    button(at, "ds_crop_go").click()
    run(at)
    assert any("already exists" in e.value for e in at.error)


def test_import_folder_errors_and_health_report_finds_the_png_leak(workspace: Path, tmp_path: Path) -> None:
    src = tmp_path / "faces"
    for i in range(8):
        put(src / "with_mask" / f"m{i}.png", smooth_image(i))
        put(src / "without_mask" / f"n{i}.jpg", smooth_image(50 + i), "JPEG")
    (src / "without_mask" / "copy.jpg").write_bytes((src / "without_mask" / "n0.jpg").read_bytes())
    at = run(app())
    at.text_input(key="ds_folder_path").set_value(str(tmp_path / "missing"))
    run(at)
    assert any("is not a folder" in e.value for e in at.error)  # said at once, before any import
    assert button(at, "ds_folder_go").disabled
    assert not (workspace / "datasets" / "missing").exists()  # an aborted import leaves nothing
    at.text_input(key="ds_folder_path").set_value(str(src))
    run(at)
    button(at, "ds_folder_go").click()
    run(at)
    assert "Imported into faces: 17 new file(s)" in texts(at)
    at.get("button_group")[0].set_value("Health")
    run(at)
    assert any("only in class 'with_mask'" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 4
    button(at, "ds_dedup").click()
    run(at)
    assert "Removed 1 duplicate file(s)." in texts(at)
    assert Dataset.open("faces").counts() == {"with_mask": 8, "without_mask": 8}


def test_review_moves_and_deletes(workspace: Path) -> None:
    ds = Dataset.create("rev")
    for i in range(3):
        put(ds.root / "a" / f"{i}.png", smooth_image(i, (16, 16)))
    put(ds.root / UNLABELLED / "u.png", smooth_image(9, (16, 16)))
    at = run(app())
    at.get("button_group")[0].set_value("Review")
    run(at)
    at.selectbox(key="ds_rev_class_rev").set_value(UNLABELLED)
    run(at)
    at.checkbox(key=f"ds_sel::{UNLABELLED}/u.png").check()
    at.selectbox(key="ds_rev_dest").set_value("(new class…)")
    run(at)
    at.text_input(key="ds_rev_new").set_value("no mask")
    run(at)
    button(at, "ds_rev_move").click()
    run(at)
    assert ds.counts() == {"a": 3, "no_mask": 1} and ds.unlabelled() == []
    at.selectbox(key="ds_rev_class_rev").set_value("a")
    run(at)
    at.checkbox(key="ds_sel::a/1.png").check()
    run(at)
    assert "1 selected" in texts(at)
    button(at, "ds_rev_del").click()
    run(at)
    assert ds.files("a") == ["a/0.png", "a/2.png"]


def test_split_shows_the_version_everywhere(workspace: Path) -> None:
    ds = Dataset.create("sp")
    for c in ("a", "b"):
        for i in range(10):
            put(ds.root / c / f"{i}.png", smooth_image(hash((c, i)) % 1000, (16, 16)))
    at = run(app())
    at.get("button_group")[0].set_value("Split")
    run(at)
    assert "Not split yet" in texts(at)
    button(at, "ds_sp_go").click()
    run(at)
    version = Dataset.open("sp").root.joinpath(".splits").iterdir().__next__().stem
    assert f"Dataset version {version} saved (20 files)" in texts(at)
    assert at.selectbox(key="ds_pick").format_func("sp") == f"sp · version {version}"
    assert any(version in h.value for h in at.subheader)
    put(ds.root / "a" / "new.png", smooth_image(999, (16, 16)))
    run(at)
    assert any("1 added" in w.value for w in at.warning)
    at.number_input(key="ds_sp_val").set_value(40)  # 70 + 40 + 15 != 100
    button(at, "ds_sp_go").click()
    run(at)
    assert any("add up to 1" in e.value for e in at.error)


def test_photos_to_do_go_to_a_project(workspace: Path, tmp_path: Path) -> None:
    Dataset.create("auto")
    raw = tmp_path / "raw"
    put(raw / "p1.png", smooth_image(1, (40, 40)))
    (raw / "bad.jpg").write_bytes(b"nope")
    at = run(app())
    at.text_input(key="ds_auto_path").set_value(str(raw))
    run(at)
    button(at, "ds_auto_todo").click()
    run(at)
    assert at.dataframe[0].value["why"].tolist() == ["not processed yet", "not processed yet"]
    button(at, "ds_todo_open").click()
    run(at)
    assert Project.open("auto_to_box").list_images() == ["p1.png"]
    assert "Copied 1 photo(s) into project auto_to_box" in texts(at)


@pytest.mark.slow
def test_augmentation_preview_runs_the_trainers_layers(workspace: Path) -> None:
    ds = Dataset.create("aug")
    for i in range(5):
        put(ds.root / "a" / f"{i}.png", smooth_image(i, (40, 40)))
    at = run(app())
    at.get("button_group")[0].set_value("Augmentation")
    run(at)
    button(at, "ds_aug_go").click()
    run(at)
    assert len(at.get("image")) == 4 * 6  # 4 samples: the original and 5 augmented copies each


def test_a_build_that_writes_nothing_says_why_and_leaves_no_dataset(project: Project) -> None:
    at = run(app())
    assert "3 labelled box(es) on 2 image(s) (mask: 2, no mask: 1); 1 “None” box(es) are skipped" in texts(at)
    at.number_input(key="ds_crop_min").set_value(500)  # larger than every box
    button(at, "ds_crop_go").click()
    run(at)
    assert any(
        "Nothing cropped, no dataset made" in e.value and "smaller than 500 px" in e.value for e in at.error
    )
    assert list_datasets() == []


def test_a_project_without_labelled_boxes_cannot_be_cropped(workspace: Path) -> None:
    p = Project.create("raw")
    p.add_image("a.png", array_bytes(smooth_image(1, (40, 40))))
    at = run(app())
    assert any("no labelled box yet" in w.value for w in at.warning)
    assert button(at, "ds_crop_go").disabled


def test_dataset_and_section_come_from_the_url(workspace: Path) -> None:
    for name in ("first", "second"):
        put(Dataset.create(name).root / "a" / "0.png", smooth_image(1, (16, 16)))
    at = app()
    at.query_params["dataset"] = "second"
    at.query_params["section"] = "split"
    run(at)
    assert at.selectbox(key="ds_pick").value == "second"
    assert at.get("button_group")[0].value == "Split"
    assert "Not split yet" in texts(at)


def test_health_figures_are_built_from_plain_data() -> None:
    counts = {"mask": 3, "no_mask": 1}
    rows = [
        {"label": "mask", "width": 40, "height": 50, "aspect": 0.8, "format": "PNG"},
        {"label": "no_mask", "width": 60, "height": 60, "aspect": 1.0, "format": "JPEG"},
    ]
    bars = charts.class_counts_figure(counts)
    assert [list(t.x) for t in bars.data] == [["mask"], ["no_mask"]]
    assert [list(t.y) for t in bars.data] == [[3], [1]]
    assert {t.name for t in charts.format_figure(rows).data} == {"PNG", "JPEG"}
    sides = charts.short_side_figure(rows, list(counts))
    assert sorted(v for t in sides.data for v in t.x) == [40, 60]
    assert charts.aspect_figure([], list(counts)).layout.title.text == "Aspect (width / height)"
    split = charts.split_counts_figure({"train": {"mask": 2, "no_mask": 1}, "val": {"mask": 1, "no_mask": 0}})
    assert [t.name for t in split.data] == ["mask", "no_mask"]


def test_voc_preview_and_label_mapping_merge_into_the_chosen_dataset(workspace: Path, tmp_path: Path) -> None:
    from tests.core.data.test_provenance import voc_set

    ds = Dataset.create("binary")
    put(ds.root / "with_mask" / "a.png", smooth_image(1))
    put(ds.root / "without_mask" / "b.png", smooth_image(2))
    src = voc_set(tmp_path / "scenes", n_photos=3)
    (src / "xml" / "lost.xml").write_text(
        "<annotation><filename>lost.png</filename><object><name>with_mask</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object></annotation>"
    )
    at, out = preview_voc(src)
    assert "Found 3 photo(s) with 9 box(es): mask_weared_incorrect: 3, with_mask: 3, without_mask: 3." in out
    at.checkbox(key="ds_voc_add").check()
    run(at)
    assert "Renamed or merged: mask_weared_incorrect → with_mask." in texts(at).replace("\\", "")
    button(at, "ds_voc_go").click()
    run(at)
    assert Dataset.open("binary").counts() == {"with_mask": 7, "without_mask": 4}


def test_categories_sharing_a_folder_are_shown_and_refused(project: Project) -> None:
    with project.edit() as ann:
        ann.add_category("no_mask")
        ann.images["photo2.png"] = ImageAnnotations([Box(0, 0, 30, 30, "no_mask")])
    at = run(app())
    mapping = "'no mask', 'no_mask' -> folder 'no_mask'"
    assert any(mapping in e.value for e in at.error)  # shown before the build
    button(at, "ds_crop_go").click()
    run(at)
    assert any("Nothing cropped" in e.value and mapping in e.value for e in at.error)
    assert list_datasets() == []


def test_folder_import_does_not_repeat_the_previews_ignored_note(workspace: Path, tmp_path: Path) -> None:
    src = tmp_path / "faces"
    for i in range(2):
        put(src / "with_mask" / f"m{i}.png", smooth_image(i))
        put(src / "without_mask" / f"n{i}.png", smooth_image(50 + i))
    (src / "notes.txt").write_text("hi")
    at = run(app())
    at.text_input(key="ds_folder_path").set_value(str(src))
    run(at)
    assert "1 other file(s) are ignored" in texts(at)
    button(at, "ds_folder_go").click()
    run(at)
    assert "Imported into faces: 4 new file(s)" in texts(at)
    assert not [w.value for w in at.warning if "notes.txt" in w.value]  # said once, in the preview


def test_voc_tab_reads_the_annotations_and_images_layout(workspace: Path, tmp_path: Path) -> None:
    from tests.core.data.test_provenance import voc_set

    src = voc_set(tmp_path / "voc", n_photos=1, faces=2)
    (src / "xml").rename(src / "annotations")
    xml = (src / "annotations" / "p0.xml").read_text()
    (src / "annotations" / "p1.xml").write_text(xml.replace("p0.png", "p1.png"))  # its image is missing
    _, out = preview_voc(src)
    assert "Found 1 photo(s) with 2 box(es): with_mask: 1, without_mask: 1." in out
