"""Page tests run the page scripts with streamlit.testing.v1.AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_models import tiny_lenet_files

REPO = Path(__file__).resolve().parents[2]


def page_path(name: str) -> str:
    return str(REPO / "pages" / name)


@pytest.fixture(scope="module")
def tiny_model_files() -> tuple[bytes, bytes]:
    """(.keras bytes, .tflite bytes) of a 32 px two-class LeNet (tests.tiny_models)."""
    return tiny_lenet_files()
