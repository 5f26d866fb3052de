"""`python -m core.review`: the command runs as a module and reports bad input on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_the_module_runs_and_a_bad_source_exits_2(workspace: Path) -> None:
    env = {**os.environ, "MASK_STUDIO_WORKSPACE": str(workspace)}
    done = subprocess.run(
        [sys.executable, "-m", "core.review", "rank", "no-such-project-or-folder"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "error: 'no-such-project-or-folder' is neither a project" in done.stderr
    assert not (workspace / "review").exists()
