"""AppTest of the entry point home.py (`make run`): it opens the annotator first."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import REPO, run, texts


def test_home_opens_the_annotator(workspace: Path) -> None:
    at = run(AppTest.from_file(str(REPO / "home.py"), default_timeout=60))
    assert [t.value for t in at.title] == ["Annotate"]
    assert "Create a project" in texts(at, "markdown")
