"""core.errors: one hierarchy under MaskStudioError, and the fields and messages the UI shows."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import core.errors as errors
from core.errors import (
    BoxRejected,
    ConfigError,
    FormatError,
    IceConfigError,
    ImageLoadError,
    LiveError,
    MaskStudioError,
    RunCancelled,
    TrainingError,
)

CORE = Path(errors.__file__).resolve().parent


def test_every_error_in_core_errors_is_a_mask_studio_error() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(classes) >= 15
    for cls in classes:
        assert issubclass(cls, MaskStudioError), cls.__name__
        assert cls.__doc__, f"{cls.__name__} says when it is raised"


@pytest.mark.parametrize(
    ("cls", "parents"),
    [
        (ConfigError, (TrainingError, ValueError)),
        (IceConfigError, (LiveError, ValueError)),
        (RunCancelled, (TrainingError,)),
    ],
)
def test_subclasses_are_caught_by_their_parents(cls: type[Exception], parents: tuple[type, ...]) -> None:
    with pytest.raises(parents) as info:
        raise cls("bad value")
    assert str(info.value) == "bad value"
    for parent in parents:
        assert isinstance(info.value, parent)


def _public_exception_classes() -> list[tuple[str, str]]:
    """(module, class) for every public class in core/ defined with an exception-looking base."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
            if any(b.endswith(("Error", "Exception", "Rejected", "Cancelled", "Unavailable")) for b in bases):
                module = ".".join(path.relative_to(CORE.parent).with_suffix("").parts)
                found.append((module, node.name))
    return found


def test_every_public_exception_core_raises_is_typed() -> None:
    found = _public_exception_classes()
    outside = [(m, c) for m, c in found if m != "core.errors"]
    assert outside, "the scan finds the errors defined beside their modules"
    for module, name in found:
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, MaskStudioError), f"{module}.{name} must subclass MaskStudioError"


def test_image_load_error_keeps_source_and_reason() -> None:
    exc = ImageLoadError("photos/a.jpg", "not an image file Pillow can read")
    assert str(exc) == "photos/a.jpg: not an image file Pillow can read"
    assert exc.source == "photos/a.jpg"
    assert exc.reason == "not an image file Pillow can read"  # what a skip list shows, without the path


def test_image_load_error_from_the_loader_names_the_upload() -> None:
    from core.imaging import load_image

    with pytest.raises(ImageLoadError) as info:
        load_image(b"plain text, not pixels")
    assert info.value.source == "<upload>"
    assert str(info.value) == f"<upload>: {info.value.reason}" and info.value.reason


def test_box_rejected_message_is_the_text_shown() -> None:
    exc = BoxRejected("overlap", "The box overlaps another box.")
    assert exc.rule == "overlap"
    assert exc.message == str(exc) == "The box overlaps another box."


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({}, "bad width"),
        ({"file": "ann.json"}, "ann.json: bad width"),
        ({"file": "ann.json", "image": "a.jpg"}, "ann.json / a.jpg: bad width"),
        ({"file": "ann.json", "image": "a.jpg", "field": "w"}, "ann.json / a.jpg / w: bad width"),
        ({"image": "a.jpg", "field": "w"}, "a.jpg / w: bad width"),
    ],
)
def test_format_error_locates_the_problem(where: dict[str, str], expected: str) -> None:
    exc = FormatError("bad width", **where)
    assert str(exc) == expected
    assert exc.detail == "bad width"
    assert (exc.file, exc.image, exc.field) == (
        where.get("file", ""),
        where.get("image", ""),
        where.get("field", ""),
    )
