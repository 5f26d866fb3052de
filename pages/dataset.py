"""Datasets: build face-crop datasets, review them, check their health, split them, preview augmentation.

Thin: widgets, session state and calls into core (core.dataset, core.dataset_build,
core.autocrop, core.health, core.split). The chosen dataset is kept in the URL (?dataset=...)
and every dataset picker shows its latest version id (the hash of its split manifest).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import plotly.express as px  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.errors import StreamlitAPIException  # noqa: E402

from app.ui.common import flash, literal, show_error, show_flashes  # noqa: E402
from core.autocrop import auto_crop, photos_in, photos_to_do, send_to_project  # noqa: E402
from core.dataset import UNLABELLED, Dataset, list_datasets, paginate, unique_dataset_name  # noqa: E402
from core.dataset_build import (  # noqa: E402
    DEFAULT_SIZE,
    BuildReport,
    crop_project,
    import_folder,
    import_sources,
    import_voc,
    zip_sources,
)
from core.errors import MaskStudioError  # noqa: E402
from core.hashing import scan_files  # noqa: E402
from core.health import HealthReport, health_report, remove_exact_duplicates  # noqa: E402
from core.imaging import IMAGE_EXTENSIONS, load_image  # noqa: E402
from core.manifest import list_versions  # noqa: E402
from core.projects import Project, list_projects  # noqa: E402
from core.split import latest_manifest, manifest_changes, split_dataset  # noqa: E402

SECTIONS = ["Build", "Review", "Health", "Split", "Augmentation"]
GRID = 6  # thumbnails per row
ANNOTATE_PAGE = ROOT / "pages" / "annotate.py"
UPLOAD_TYPES = [e.lstrip(".") for e in IMAGE_EXTENSIONS]


# ----- helpers -----------------------------------------------------------------------------
@st.cache_data(max_entries=1024, show_spinner=False)
def thumbnail(path: str, mtime: float, side: int = 128) -> bytes | None:
    """A JPEG thumbnail of an image file (None when it cannot be read)."""
    try:
        img = load_image(path)
    except MaskStudioError:
        return None
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def show_thumb(ds: Dataset, rel: str, caption: str | None = None) -> None:
    path = ds.root / rel
    data = thumbnail(str(path), path.stat().st_mtime) if path.is_file() else None
    if data is None:
        st.caption(f"unreadable: {literal(rel)}")
    else:
        st.image(data, caption=rel.split("/", 1)[-1] if caption is None else caption, width="stretch")


@contextmanager
def progress(text: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for a core call's `progress(done, total)`; removed when the block ends."""
    slot = st.empty()
    bar = slot.progress(0.0, text=text)
    yield lambda done, total: bar.progress(min(done / max(total, 1), 1.0), text=f"{text} {done}/{total}")
    slot.empty()


def latest_versions() -> dict[str, str]:
    """{dataset: newest version id}."""
    out: dict[str, str] = {}
    for name, version in list_versions():
        out.setdefault(name, version)
    return out


def dataset_label(name: str, latest: dict[str, str]) -> str:
    return f"{name} · version {latest[name]}" if name in latest else f"{name} · not split yet"


def select_dataset(name: str) -> None:
    st.query_params["dataset"] = name
    st.session_state.pop("ds_pick", None)


def build(
    what: str,
    name: str,
    add: bool,
    current: Dataset | None,
    action: Callable[[Dataset, Callable[[int, int], None]], BuildReport],
) -> None:
    """Run a build into a new dataset (or the chosen one); errors shown, an aborted new one removed."""
    try:
        ds = current if add and current is not None else Dataset.create(name)
    except MaskStudioError as exc:
        show_error(exc)
        return
    try:
        with progress(what) as update:
            report = action(ds, update)
    except MaskStudioError as exc:
        if ds is not current:
            ds.remove_if_empty()
        show_error(exc)
        return
    counts = ", ".join(f"{c}: {n}" for c, n in report.counts().items()) or "nothing"
    flash("success", f"{what} into {ds.name}: {len(report.written)} new file(s) ({counts}).")
    if report.unchanged:
        flash("info", f"{len(report.unchanged)} identical file(s) were already there.")
    if report.converted:
        flash("info", f"{len(report.converted)} file(s) re-encoded to PNG (Keras cannot read their format).")
    if report.skipped:
        flash("warning", f"Skipped {len(report.skipped)}: " + "; ".join(report.skipped[:20]))
    select_dataset(ds.name)
    st.rerun()


def target_inputs(key: str, base: str, current: Dataset | None, latest: dict[str, str]) -> tuple[str, bool]:
    name = st.text_input("New dataset name", unique_dataset_name(base), key=f"{key}_name_{base}")
    add = current is not None and st.checkbox(
        f"Add to {dataset_label(current.name, latest)} instead", key=f"{key}_add"
    )
    return name, add


# ----- Build -------------------------------------------------------------------------------
def build_section(current: Dataset | None, latest: dict[str, str]) -> None:
    tabs = st.tabs(["From a project", "Folder dataset", "Pascal VOC", "Auto-crop"])
    with tabs[0]:
        st.caption(
            "Every labelled box (not “None”) becomes a square crop: the short side grows around the box "
            "centre, never a stretch; where the square leaves the photo, the edge pixels are repeated. "
            "Files: `<label>/<photo>_<box number>.png`. Predict and Live crop faces the same way."
        )
        projects = list_projects()
        project = st.selectbox("Annotation project", projects, key="ds_crop_project")
        size = int(st.number_input("Crop size (px)", 32, 1024, DEFAULT_SIZE, step=16, key="ds_crop_size"))
        min_side = int(st.number_input("Skip boxes smaller than (px)", 0, 512, 0, key="ds_crop_min"))
        name, add = target_inputs("ds_crop", f"{project or 'project'}_crops", current, latest)
        if st.button("Crop boxes", key="ds_crop_go", type="primary", disabled=not projects):
            build(
                "Cropped",
                name,
                add,
                current,
                lambda ds, p: crop_project(
                    Project.open(str(project)), ds, size=size, min_side=min_side, progress=p
                ),
            )
    with tabs[1]:
        st.caption(
            "One sub-folder per class. It is copied into the workspace; the original is never changed."
        )
        path = st.text_input(
            "Folder on this computer",
            placeholder="../shared/data/face_mask_binary_real",
            key="ds_folder_path",
        ).strip()
        upload = st.file_uploader("…or a ZIP of class folders", type=["zip"], key="ds_folder_zip")
        name, add = target_inputs(
            "ds_folder",
            Path(path).name if path else Path(upload.name).stem if upload else "imported",
            current,
            latest,
        )
        if st.button("Import", key="ds_folder_go", type="primary", disabled=not (path or upload)):
            if path:
                build(
                    "Imported",
                    name,
                    add,
                    current,
                    lambda ds, p: import_folder(path, ds, progress=p),
                )
            else:
                build(
                    "Imported",
                    name,
                    add,
                    current,
                    lambda ds, p: import_sources(ds, zip_sources(upload.getvalue()), progress=p),
                )
    with tabs[2]:
        st.caption("Scene photos with Pascal VOC XML boxes: every box is cropped like a project box.")
        vpath = st.text_input(
            "VOC folder (XML + images)",
            placeholder="../shared/data/face_mask_detection_voc",
            key="ds_voc_path",
        ).strip()
        vsize = int(st.number_input("Crop size (px)", 32, 1024, DEFAULT_SIZE, step=16, key="ds_voc_size"))
        vmin = int(st.number_input("Skip boxes smaller than (px)", 0, 512, 0, key="ds_voc_min"))
        name, add = target_inputs("ds_voc", f"{Path(vpath).name or 'voc'}_crops", current, latest)
        if st.button("Import and crop", key="ds_voc_go", type="primary", disabled=not vpath):
            build(
                "Cropped VOC boxes",
                name,
                add,
                current,
                lambda ds, p: import_voc(vpath, ds, size=vsize, min_side=vmin, progress=p),
            )
    with tabs[3]:
        auto_section(current, latest)


def auto_section(current: Dataset | None, latest: dict[str, str]) -> None:
    st.caption(
        "Finds faces with the default detector and saves their crops in the chosen dataset's "
        "unlabelled bin: give them a class in Review. Photos with no face can be boxed by hand."
    )
    if current is None:
        st.info("Choose a dataset in the sidebar first, or create an empty one here.")
        new = st.text_input("New dataset name", key="ds_auto_new")
        if st.button("Create dataset", key="ds_auto_create", disabled=not new.strip()):
            try:
                select_dataset(Dataset.create(new).name)
            except MaskStudioError as exc:
                show_error(exc)
            else:
                st.rerun()
        return
    folder = st.text_input("Folder of raw photos", key="ds_auto_path").strip()
    uploads = st.file_uploader(
        "…or upload photos", type=UPLOAD_TYPES, accept_multiple_files=True, key="ds_auto_up"
    )
    photos = [(u.name, u.getvalue()) for u in uploads or []]
    try:
        photos += photos_in(folder) if folder else []
    except MaskStudioError as exc:
        show_error(exc)
    st.write(f"{len(photos)} photo(s) · crops go to {literal(dataset_label(current.name, latest))}")
    size = int(st.number_input("Crop size (px)", 32, 1024, DEFAULT_SIZE, step=16, key="ds_auto_size"))
    left, right = st.columns(2)
    if left.button("Find faces and crop", key="ds_auto_go", type="primary", disabled=not photos):
        try:
            with progress("Detecting faces") as update:
                r = auto_crop(current, photos, size=size, progress=update)
        except MaskStudioError as exc:
            show_error(exc)
        else:
            flash(
                "success",
                f"{sum(r.faces.values())} face(s) from {len(r.faces)} photo(s) saved as unlabelled crops.",
            )
            for what, items in (
                ("No face found", r.no_face),
                ("Unreadable", r.unreadable),
                ("Done before", r.already),
            ):
                if items:
                    flash("info", f"{what} ({len(items)}): " + ", ".join(items[:20]))
            st.rerun()
    if right.button("List photos to do", key="ds_auto_todo", disabled=not photos):
        st.session_state["ds_todo"] = [(p[0], why) for p, why in photos_to_do(current, photos)]
    todo = st.session_state.get("ds_todo")
    if todo is None:
        return
    st.dataframe(pd.DataFrame(todo, columns=["photo", "why"]), hide_index=True)
    project = st.text_input("Annotation project for them", f"{current.name}_to_box", key="ds_todo_project")
    if st.button("Open in annotator", key="ds_todo_open", disabled=not todo):
        wanted = {name for name, _ in todo}
        errors: list[str] = []
        try:
            proj, added = send_to_project(
                [p for p in photos if p[0] in wanted], project, on_error=errors.append
            )
        except MaskStudioError as exc:
            show_error(exc)
            return
        for e in errors:
            flash("warning", f"Skipped: {e}")
        st.session_state.pop("ds_todo", None)
        st.session_state.pop("project_pick", None)
        try:
            st.switch_page(ANNOTATE_PAGE, query_params={"project": proj.name})
        except StreamlitAPIException:  # the page runs on its own (AppTest): no navigation
            st.success(
                f"Copied {len(added)} photo(s) into project {proj.name}; open it on the Annotate page."
            )


# ----- Review ------------------------------------------------------------------------------
def review_section(ds: Dataset) -> None:
    classes = ds.classes()
    bins = classes + [UNLABELLED]
    label = st.selectbox(
        "Class",
        bins,
        key=f"ds_rev_class_{ds.name}",
        format_func=lambda c: (
            f"unlabelled bin ({len(ds.unlabelled())})" if c == UNLABELLED else f"{c} ({len(ds.files(c))})"
        ),
    )
    files = ds.files(label)
    c1, c2 = st.columns(2)
    per_page = int(c1.selectbox("Per page", [24, 48, 96], key="ds_rev_per"))
    pages = max(1, -(-len(files) // per_page))
    page = int(c2.number_input(f"Page (of {pages})", 1, pages, 1, key=f"ds_rev_page_{ds.name}_{label}")) - 1
    shown, page, pages = paginate(files, page, per_page)
    if not shown:
        st.info("No images here.")
        return
    for start in range(0, len(shown), GRID):
        for col, rel in zip(st.columns(GRID), shown[start : start + GRID], strict=False):
            with col:
                show_thumb(ds, rel)
                st.checkbox("select", key=f"ds_sel::{rel}", label_visibility="collapsed")
    chosen = [rel for rel in shown if st.session_state.get(f"ds_sel::{rel}")]
    st.write(f"{len(chosen)} selected")
    c1, c2, c3 = st.columns([2, 1, 1])
    dest = c1.selectbox(
        "Move to class", [c for c in classes if c != label] + ["(new class…)"], key="ds_rev_dest"
    )
    if dest == "(new class…)":
        dest = c1.text_input("New class name", key="ds_rev_new").strip()
    if c2.button("Move selected", key="ds_rev_move", disabled=not (chosen and dest)):
        edit(ds, chosen, lambda rel: ds.move(rel, dest), f"Moved {{n}} image(s) to {dest}.")
    if c3.button("Delete selected", key="ds_rev_del", disabled=not chosen):
        edit(ds, chosen, ds.delete, "Deleted {n} image(s).")


def edit(ds: Dataset, rels: list[str], action: Callable[[str], object], message: str) -> None:
    try:
        for rel in rels:
            action(rel)
            st.session_state.pop(f"ds_sel::{rel}", None)
    except MaskStudioError as exc:
        show_error(exc)
        return
    flash("success", message.format(n=len(rels)))
    st.rerun()


# ----- Health ------------------------------------------------------------------------------
def health_section(ds: Dataset) -> None:
    with progress("Reading files") as update:
        report = health_report(ds, progress=update)
    if not report.files:
        st.info("This dataset has no images yet.")
        return
    cols = st.columns(6)
    for col, (what, value) in zip(
        cols,
        [
            ("Images", len(report.files)),
            ("Classes", len(report.counts)),
            ("Imbalance", f"{report.imbalance:.1f}×"),
            ("Exact copies", sum(len(g.paths) - 1 for g in report.exact_duplicates)),
            ("Near-dup groups", len(report.near_duplicates)),
            ("Unreadable", len(report.unreadable)),
        ],
        strict=True,
    ):
        col.metric(what, value)
    for leak in report.leaks:
        st.warning(f"Label leak: {leak.message}", icon=":material/warning:")
    for text in report.warnings()[len(report.leaks) :]:
        st.info(text)
    health_charts(report)
    duplicates(ds, report)
    if report.unreadable or report.tiny:
        with st.expander(f"Unreadable ({len(report.unreadable)}) and tiny ({len(report.tiny)}) files"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {"path": f.path, "problem": f.error or f"{f.width}×{f.height} px"}
                        for f in report.unreadable + report.tiny
                    ]
                ),
                hide_index=True,
            )
            if report.unreadable and st.button("Delete the unreadable files", key="ds_del_bad"):
                edit(ds, [f.path for f in report.unreadable], ds.delete, "Deleted {n} unreadable file(s).")


def health_charts(report: HealthReport) -> None:
    df = pd.DataFrame(report.rows())
    df["short side"] = df[["width", "height"]].min(axis=1)
    counts = pd.DataFrame({"class": list(report.counts), "images": list(report.counts.values())})
    left, right = st.columns(2)
    left.plotly_chart(px.bar(counts, x="class", y="images", title="Images per class"), key="ds_h_counts")
    right.plotly_chart(
        px.histogram(df, x="label", color="format", title="File format per class"), key="ds_h_fmt"
    )
    left.plotly_chart(
        px.histogram(df, x="short side", color="label", barmode="overlay", nbins=40, title="Short side (px)"),
        key="ds_h_size",
    )
    right.plotly_chart(
        px.histogram(
            df, x="aspect", color="label", barmode="overlay", nbins=40, title="Aspect (width / height)"
        ),
        key="ds_h_aspect",
    )


def duplicates(ds: Dataset, report: HealthReport) -> None:
    within = sum(len(g.paths) - len(set(g.labels)) for g in report.exact_duplicates)
    if report.exact_duplicates:
        st.subheader("Exact duplicates")
        if st.button(
            f"Remove {within} extra copies (keep one per class)", key="ds_dedup", disabled=not within
        ):
            removed = remove_exact_duplicates(ds, report)
            flash("success", f"Removed {len(removed)} duplicate file(s).")
            st.rerun()
        if any(g.cross_class for g in report.exact_duplicates):
            st.caption(
                "Copies in different classes are left for you: delete the wrong one below or in Review."
            )
    groups = sorted(report.exact_duplicates + report.near_duplicates, key=lambda g: not g.cross_class)
    if not groups:
        return
    st.subheader(f"Duplicate groups ({len(groups)}; across classes first)")
    pages = -(-len(groups) // 5)
    page = int(st.number_input(f"Group page (of {pages})", 1, pages, 1, key="ds_dup_pg")) if pages > 1 else 1
    shown, _, _ = paginate(groups, page - 1, 5)
    for g in shown:
        for col, rel in zip(st.columns(GRID), g.paths[:GRID], strict=False):
            with col:
                show_thumb(ds, rel, caption=rel)
                if st.button("Delete", key=f"ds_dup_del::{rel}"):
                    edit(ds, [rel], ds.delete, f"Deleted {rel}.")
        st.divider()


# ----- Split -------------------------------------------------------------------------------
def split_section(ds: Dataset) -> None:
    st.caption("Stratified per class; near-duplicate groups (and exact copies) always land on one side.")
    c = st.columns(4)
    train = c[0].number_input("Train %", 1, 100, 70, key="ds_sp_train")
    val = c[1].number_input("Validation %", 0, 99, 15, key="ds_sp_val")
    test = c[2].number_input("Test %", 0, 99, 15, key="ds_sp_test")
    seed = c[3].number_input("Seed", 0, 2**31 - 1, 0, key="ds_sp_seed")
    if st.button("Make split", key="ds_sp_go", type="primary"):
        fractions = {"train": train / 100, "val": val / 100, "test": test / 100}
        try:
            with progress("Reading files") as update:
                result = split_dataset(ds, seed=int(seed), fractions=fractions, progress=update)
        except MaskStudioError as exc:
            show_error(exc)
        else:
            flash(
                "success",
                f"Dataset version {result.manifest.version} saved ({len(result.manifest.files)} files).",
            )
            if result.skipped:
                flash("warning", f"Left out {len(result.skipped)} unreadable file(s).")
            st.rerun()
    manifest = latest_manifest(ds)
    if manifest is None:
        st.info("Not split yet: experiments need a dataset version.")
        return
    st.subheader(f"Version {manifest.version}")
    st.dataframe(pd.DataFrame(manifest.counts()).T, key="ds_sp_counts")
    grouped = {f.group for f in manifest.files if f.group >= 0}
    st.caption(
        f"{len(manifest.files)} files · seed {manifest.seed} · {len(grouped)} near-duplicate groups kept whole"
    )
    changes = manifest_changes(manifest, scan_files(ds.root, ds.all_files()))
    if any(changes.values()):
        st.warning(
            f"Files changed since version {manifest.version} ({len(changes['added'])} added, "
            f"{len(changes['removed'])} removed, {len(changes['changed'])} changed): make a new split."
        )


# ----- Augmentation ------------------------------------------------------------------------
def augmentation_section(ds: Dataset) -> None:
    from core.augment_preview import augment_samples, sample_images
    from models.augmentation import DEFAULTS

    st.caption("The trainer's own Keras preprocessing layers (models/augmentation.py), run on a few samples.")
    files = ds.all_files()
    if not files:
        st.info("This dataset has no images yet.")
        return
    c = st.columns(6)
    flips = ["horizontal", "vertical", "horizontal_and_vertical", "none"]
    flip = c[0].selectbox(
        "Flip", flips, index=flips.index(str(DEFAULTS["flip"] or "none")), key="ds_aug_flip"
    )
    opts = {
        k: c[i + 1].number_input(k.capitalize(), 0.0, 0.5, float(DEFAULTS[k]), 0.01, key=f"ds_aug_{k}")
        for i, k in enumerate(["rotation", "zoom", "translation", "contrast"])
    }
    seed = int(c[5].number_input("Seed", 0, 10_000, 0, key="ds_aug_seed"))
    if not st.button("Show augmented samples", key="ds_aug_go"):
        return
    samples = sample_images(ds, 4, seed=seed)
    if not samples:
        st.warning("No readable image to show.")
        return
    picks, images = [rel for rel, _ in samples], [img for _, img in samples]
    with st.spinner("Running the augmentation layers…"):
        out = augment_samples(images, variants=5, seed=seed, flip=None if flip == "none" else flip, **opts)
    for rel, original, variants in zip(picks, images, out, strict=True):
        cols = st.columns(GRID)
        cols[0].image(original, caption=f"original: {rel}")
        for col, img in zip(cols[1:], variants, strict=False):
            col.image(img)


# ----- page --------------------------------------------------------------------------------
def choose_dataset(latest: dict[str, str]) -> Dataset | None:
    st.sidebar.header("Dataset")
    names = list_datasets()
    if not names:
        st.sidebar.info("No dataset yet: build one.")
        return None
    wanted = st.query_params.get("dataset")
    name = st.sidebar.selectbox(
        "Dataset",
        names,
        index=names.index(wanted) if wanted in names else 0,
        format_func=lambda n: dataset_label(n, latest),
        key="ds_pick",
    )
    if st.query_params.get("dataset") != name:
        st.query_params["dataset"] = name
    ds = Dataset.open(name)
    st.sidebar.caption(f"Version {latest[name]}" if name in latest else "Not split yet")
    st.sidebar.caption(" · ".join(f"{c}: {n}" for c, n in ds.counts().items()) or "no classes yet")
    if ds.unlabelled():
        st.sidebar.caption(f"{len(ds.unlabelled())} unlabelled crop(s) to review")
    return ds


def main() -> None:
    st.title("Datasets")
    show_flashes()
    latest = latest_versions()
    current = choose_dataset(latest)
    section = st.radio("Section", SECTIONS, horizontal=True, key="ds_section", label_visibility="collapsed")
    if section == "Build":
        build_section(current, latest)
    elif current is None:
        st.info("Build a dataset first.")
    else:
        {
            "Review": review_section,
            "Health": health_section,
            "Split": split_section,
            "Augmentation": augmentation_section,
        }[section](current)


main()
