"""Page tests run the page scripts with streamlit.testing.v1.AppTest; the helpers every page test
file shares: open a page, run it (failing on any exception), read its texts."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

from tests.tiny_models import tiny_lenet_files

REPO = Path(__file__).resolve().parents[2]
#: The element kinds `texts` reads by default: every message, markdown and caption.
MESSAGE_KINDS = ("success", "info", "warning", "error", "markdown", "caption")


def page_path(name: str) -> str:
    return str(REPO / "pages" / name)


def open_page(name: str, timeout: float = 60) -> AppTest:
    """An AppTest of pages/<name>, not run yet (`timeout`: seconds one run may take)."""
    return AppTest.from_file(page_path(name), default_timeout=timeout)


def run(at: AppTest) -> AppTest:
    """Run the script once; fails the test when the page raised."""
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(source, *kinds: str) -> str:
    """The values of `source`'s elements of `kinds` (default MESSAGE_KINDS), one a line."""
    return "\n".join(str(e.value) for kind in kinds or MESSAGE_KINDS for e in getattr(source, kind))


def open_section(at: AppTest, name: str) -> AppTest:
    """Choose section `name` in the page's section switch (app.widgets.common.section_switch) and run."""
    at.get("button_group")[0].set_value(name)
    return run(at)


def threshold_slider(at: AppTest):
    """The sidebar's 'uncertain' threshold slider (app.widgets.model_picker, on Predict and Live)."""
    return next(s for s in at.sidebar.slider if s.label.startswith("Uncertain below"))


@pytest.fixture
def no_webrtc_session() -> Iterator[None]:
    """The Live page without a browser session: streamlit-webrtc's get_this_session_info is patched
    to None (otherwise `AttributeError: Mock object has no attribute '_session_mgr'`); the heap the
    page froze (settle_heap) is thawed after."""
    with mock.patch("streamlit_webrtc.component.get_this_session_info", return_value=None):
        yield
    gc.unfreeze()


@pytest.fixture(scope="module")
def tiny_model_files() -> tuple[bytes, bytes]:
    """(.keras bytes, .tflite bytes) of a 32 px two-class LeNet (tests.tiny_models)."""
    return tiny_lenet_files()
