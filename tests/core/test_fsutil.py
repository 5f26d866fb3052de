"""Safe names, path containment, natural order and atomic writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from core.errors import WorkspaceError
from core.fsutil import (
    atomic_write_bytes,
    atomic_write_json,
    ensure_inside,
    finite_number,
    natural_key,
    natural_sorted,
    safe_name,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("../x", "x"),
        ("<b>x</b>", "b_x_b"),
        ("no mask", "no_mask"),
        ("  two   spaces  ", "two_spaces"),
        ("Maske grün", "Maske_grun"),
        ("masque-é", "masque-e"),
        ("日本", "日本"),
        ("маска", "маска"),
        ("😷", "unnamed"),
        ("", "unnamed"),
        ("..", "unnamed"),
        ("/etc/passwd", "etc_passwd"),
        ("a\\..\\b", "a_.._b"),
        ("x" * 300, "x" * 100),
    ],
)
def test_safe_name(text: str, expected: str) -> None:
    result = safe_name(text)
    assert result == expected
    assert "/" not in result and "\\" not in result and result not in {".", ".."}


def test_safe_name_fallback() -> None:
    assert safe_name("***", fallback="image") == "image"


def test_ensure_inside(tmp_path: Path) -> None:
    assert ensure_inside(tmp_path, "a/b.txt") == (tmp_path / "a" / "b.txt").resolve()
    assert ensure_inside(tmp_path, tmp_path) == tmp_path.resolve()
    for bad in ["../x", "/etc/passwd", "a/../../x"]:
        with pytest.raises(WorkspaceError):
            ensure_inside(tmp_path, bad)


def test_ensure_inside_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(WorkspaceError):
        ensure_inside(root, "link/secret.txt")


def test_natural_order() -> None:
    names = ["IMG_10.jpg", "img_2.jpg", "IMG_1.jpg", "a.jpg", "IMG_2b.jpg"]
    assert natural_sorted(names) == ["a.jpg", "IMG_1.jpg", "img_2.jpg", "IMG_2b.jpg", "IMG_10.jpg"]
    assert natural_key("IMG_2") < natural_key("IMG_10")


def test_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "data.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["data.json"]


def test_atomic_write_keeps_old_file_when_it_fails(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(ValueError):
        atomic_write_json(target, {"a": float("nan")})  # NaN refused before anything is written
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


def test_atomic_write_permissions(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    atomic_write_bytes(target, b"x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask  # not mkstemp's 0600
    target.chmod(0o640)
    atomic_write_bytes(target, b"y")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("value", "ok"),
    [(1, True), (1.5, True), (True, False), (float("nan"), False), (float("inf"), False), ("1", False)],
)
def test_finite_number(value: object, ok: bool) -> None:
    assert finite_number(value) is ok
