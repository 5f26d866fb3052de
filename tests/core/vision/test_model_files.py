"""core.vision.model_files: only safe Keras 3 .keras files load; everything else is a ModelLoadError."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ModelLoadError
from core.vision import model_files
from core.vision.model_files import load_model_bytes, load_model_file
from tests.tiny_models import tiny_lenet_files

pytestmark = pytest.mark.slow


def test_a_keras_file_and_its_bytes_load(tmp_path: Path) -> None:
    keras_bytes, _ = tiny_lenet_files()
    (tmp_path / "m.keras").write_bytes(keras_bytes)
    assert load_model_file(tmp_path / "m.keras").output_shape == (None, 2)
    assert load_model_bytes(keras_bytes, "up.keras").input_shape == (None, 32, 32, 3)


def test_unsafe_or_foreign_model_files_are_refused(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "lambda.keras")
    with pytest.raises(ModelLoadError, match="code"):
        load_model_file(tmp_path / "lambda.keras")
    (tmp_path / "x.h5").write_bytes(b"\x89HDF")
    with pytest.raises(ModelLoadError, match=".keras"):
        load_model_file(tmp_path / "x.h5")
    with pytest.raises(ModelLoadError, match="archive"):
        load_model_bytes(b"not a zip", "m.keras")
    with pytest.raises(ModelLoadError, match=".keras"):
        load_model_bytes(b"PK", "m.h5")
    with pytest.raises(ModelLoadError, match="cannot read"):
        load_model_file(tmp_path / "missing.keras")


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keras_bytes, _ = tiny_lenet_files()
    (tmp_path / "m.keras").write_bytes(keras_bytes)
    monkeypatch.setattr(model_files, "MAX_MODEL_BYTES", len(keras_bytes) - 1)
    with pytest.raises(ModelLoadError, match="allowed"):
        load_model_file(tmp_path / "m.keras")
