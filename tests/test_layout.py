"""The package layout (docs/architecture.md): core's packages import only core's loose modules and
the packages before them, models/ never imports core, core never imports streamlit or the front
end; the size targets: few loose modules, several packages, no file over 450 lines, no
`sys.path.insert` in pages; and a test file for every core module. Every import counts,
including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "core"

#: core's loose modules (core/<name>.py): shared by every package; they import only each other.
LOOSE = ("errors", "fsutil", "workspace", "locking", "imaging", "geometry", "overlay")
#: core's packages in dependency order: each imports only LOOSE and the packages before it.
PACKAGES = ("vision", "annotation", "data", "runs", "training", "inference", "live", "review")
#: top-level names core and models must never import (the front end, its framework, test code).
FRONT_END = ("streamlit", "streamlit_webrtc", "app", "pages", "home", "tests", "benchmarks")
MAX_LOOSE, MIN_PACKAGES, MAX_LINES = 8, 4, 450
#: the front end's rooms: one per page (pages/<room>.py), and the widgets room they share.
ROOMS = ("annotate", "dataset", "experiments", "predict", "live")
WIDGETS = "widgets"
#: app/'s loose modules: the app shell used by home.py only (the Host check).
APP_LOOSE = ("hosts",)
MAX_PAGE_LINES = 120
SIZE_CHECKED = ("core", "app", "pages", "models")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in a repository file."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in `source`, at any depth; relative imports are
    resolved against `package`, and `from a import b` also yields `a.b` (b may be a module)."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def py_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def core_unit(module: str) -> str | None:
    """The layout unit of a dotted `core...` module: "loose:<name>", "package:<name>", "core"
    (the package itself), or None when it is not in core."""
    parts = module.split(".")
    if parts[0] != "core":
        return None
    if len(parts) == 1:
        return "core"
    if (CORE / parts[1]).is_dir():
        return f"package:{parts[1]}"
    return f"loose:{parts[1]}"


def allowed_units(unit: str) -> set[str]:
    """The core units that `unit` may import."""
    loose = {f"loose:{name}" for name in LOOSE}
    if unit.startswith("loose:"):
        return loose
    name = unit.split(":", 1)[1]
    index = PACKAGES.index(name)
    return loose | {f"package:{p}" for p in PACKAGES[: index + 1]}


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_every_core_package_and_loose_module_has_its_place_in_the_order() -> None:
    packages = sorted(p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    loose = sorted(p.stem for p in CORE.glob("*.py") if p.stem != "__init__")
    assert [p for p in packages if p not in PACKAGES] == [], "add new core packages to PACKAGES"
    assert [m for m in loose if m not in LOOSE] == [], f"core's loose modules must be among {LOOSE}"
    assert [p for p in PACKAGES if p not in packages] == [], "PACKAGES names a package core lacks"


def test_core_imports_only_what_comes_before() -> None:
    problems: dict[tuple[str, int, str], str] = {}  # one line per (file, line, imported unit)
    for path in py_files(CORE):
        unit = core_unit(".".join(path.relative_to(REPO).with_suffix("").parts))
        if unit == "core":  # core/__init__.py
            continue
        assert unit is not None
        ok = allowed_units(unit) if unit.split(":", 1)[1] in (*LOOSE, *PACKAGES) else set()
        for line, module in imported_modules(path):
            target = core_unit(module)
            top = module.split(".")[0]
            where = f"{rel(path)}:{line}"
            if top in FRONT_END:
                problems.setdefault((where, line, top), f"{where} imports {module}: core never imports it")
            elif target is not None and target != "core" and target not in ok:
                problems.setdefault((where, line, target), f"{where} ({unit}) imports {module} ({target})")
    lines = sorted(problems.values())
    assert lines == [], "\n".join(lines)


def test_every_core_module_has_its_test_file() -> None:
    """core/<path>/<module>.py is tested in tests/core/<path>/test_<module>.py."""
    missing = [
        f"{rel(path)}: no {rel(expected)}"
        for path in py_files(CORE)
        if path.name != "__init__.py"
        and not (expected := REPO / "tests" / path.relative_to(REPO).parent / f"test_{path.name}").is_file()
    ]
    assert missing == [], "\n".join(missing)


def test_models_import_neither_core_nor_the_front_end() -> None:
    problems = {
        f"{rel(path)}:{line} imports {module.split('.')[0]}"
        for path in py_files(REPO / "models")
        for line, module in imported_modules(path)
        if module.split(".")[0] in ("core", *FRONT_END)
    }
    assert problems == set(), "\n".join(sorted(problems))


def test_app_never_imports_pages() -> None:
    problems = [
        f"{rel(path)}:{line} imports {module}"
        for path in py_files(REPO / "app")
        for line, module in imported_modules(path)
        if module.split(".")[0] == "pages"
    ]
    assert problems == [], "\n".join(problems)


def app_unit(module: str) -> str | None:
    """The room of a dotted `app...` module ("widgets", "annotate", ..., "hosts"), "app" for the
    package itself, None when it is not in app."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    return parts[1] if len(parts) > 1 else "app"


def allowed_app_units(room: str) -> set[str]:
    """What a room may import from app/: a page room its own room and the widgets room; the
    widgets room only itself (never a page room)."""
    return {room, WIDGETS} if room in ROOMS else {WIDGETS}


def test_app_is_rooms_and_its_shell() -> None:
    folders = sorted(p.name for p in (REPO / "app").iterdir() if p.is_dir() and p.name != "__pycache__")
    modules = sorted(p.stem for p in (REPO / "app").glob("*.py") if p.stem != "__init__")
    assert folders == sorted([*ROOMS, WIDGETS]), "app/ holds one room per page and the widgets room"
    assert modules == sorted(APP_LOOSE)
    assert sorted(p.stem for p in (REPO / "pages").glob("*.py")) == sorted(ROOMS), "one page per room"


@pytest.mark.parametrize("room", [*ROOMS, WIDGETS])
def test_a_room_imports_only_its_own_room_the_widgets_and_core(room: str) -> None:
    problems = [
        f"{rel(path)}:{line} imports {module}"
        for path in py_files(REPO / "app" / room)
        for line, module in imported_modules(path)
        if module.split(".")[0] in ("pages", "home")
        or ((unit := app_unit(module)) is not None and unit != "app" and unit not in allowed_app_units(room))
    ]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("page", ROOMS)
def test_a_page_is_thin_and_uses_only_its_room_and_the_widgets(page: str) -> None:
    path = REPO / "pages" / f"{page}.py"
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_PAGE_LINES, f"{rel(path)} has {lines} lines; move its logic into app/{page}/"
    problems = [
        f"{rel(path)}:{line} imports {module}"
        for line, module in imported_modules(path)
        if (unit := app_unit(module)) is not None and unit != "app" and unit not in (page, WIDGETS)
    ]
    assert problems == [], "\n".join(problems)


def test_the_app_tests_mirror_the_rooms() -> None:
    tests = REPO / "tests" / "app"
    folders = sorted(p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted([*ROOMS, WIDGETS])
    for room in folders:
        names = {p.stem for p in (REPO / "app" / room).glob("*.py")}
        stray = [
            p.name for p in (tests / room).glob("test_*.py") if p.stem.removeprefix("test_") not in names
        ]
        assert stray == [], f"tests/app/{room} tests modules app/{room} does not have: {stray}"


@pytest.mark.parametrize(
    ("room", "module", "expected"),
    [
        ("annotate", "app.widgets.common", True),
        ("annotate", "app.annotate.face_grid", True),
        ("annotate", "app.experiments.scenes", False),  # another page room
        ("widgets", "app.predict.results", False),  # the widgets room never imports a page room
        ("widgets", "app.widgets.charts", True),
    ],
)
def test_the_room_rule_itself(room: str, module: str, expected: bool) -> None:
    assert (app_unit(module) in allowed_app_units(room)) is expected


def test_few_loose_modules_and_several_packages() -> None:
    loose = [p.stem for p in CORE.glob("*.py") if p.stem != "__init__"]
    packages = [p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert len(loose) <= MAX_LOOSE, sorted(loose)
    assert len(packages) >= MIN_PACKAGES, sorted(packages)


@pytest.mark.parametrize("folder", SIZE_CHECKED)
def test_no_file_over_the_line_limit(folder: str) -> None:
    long = {
        rel(path): n
        for path in py_files(REPO / folder)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"files over {MAX_LINES} lines: {long}"


def test_pages_do_not_edit_sys_path() -> None:
    edits = [
        f"{rel(path)}:{i}"
        for path in py_files(REPO / "pages")
        for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "sys.path.insert" in text
    ]
    assert edits == [], f"pages need no sys.path edits (the entry point is at the root): {edits}"


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("core/runs/store.py", "core.vision.detectors", True),  # an earlier package
        ("core/runs/store.py", "core.runs.config", True),  # its own package
        ("core/runs/store.py", "core.errors", True),  # a loose module
        ("core/vision/detectors.py", "core.runs.store", False),  # a later package
        ("core/imaging.py", "core.vision.detectors", False),  # a loose module importing a package
    ],
)
def test_the_order_rule_itself(source: str, module: str, expected: bool) -> None:
    unit = core_unit(".".join(Path(source).with_suffix("").parts))
    assert unit is not None
    assert (core_unit(module) in allowed_units(unit)) is expected


def test_imports_inside_functions_and_relative_ones_are_seen() -> None:
    source = "def f():\n    from core.live import processor\n    from ..inference import scenes\n"
    modules = {m for _, m in imports_in(source, "core.runs")}
    assert {"core.live", "core.live.processor", "core.inference", "core.inference.scenes"} <= modules
