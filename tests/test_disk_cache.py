"""tests.disk_cache: a value is made once per test run and shared through the folder named in
MASK_STUDIO_TEST_CACHE, by processes as well as by calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.disk_cache import TEST_CACHE_ENV, cached_blobs, content_key

REPO = Path(__file__).resolve().parents[1]


def test_the_key_changes_with_its_parts_and_with_the_code_files(tmp_path: Path) -> None:
    code = tmp_path / "maker.py"
    code.write_text("a = 1\n")
    first = content_key("tiny", 1, 40.0, files=[code])
    assert first == content_key("tiny", 1, 40.0, files=[code])
    assert first != content_key("tiny", 2, 40.0, files=[code])
    code.write_text("a = 2\n")
    assert first != content_key("tiny", 1, 40.0, files=[code])


def test_a_value_is_made_once_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_CACHE_ENV, str(tmp_path))
    made: list[int] = []

    def make() -> tuple[bytes, bytes]:
        made.append(1)
        return b"keras", b"tflite"

    assert cached_blobs("k1", 2, make) == (b"keras", b"tflite")
    assert cached_blobs("k1", 2, make) == (b"keras", b"tflite")
    assert len(made) == 1
    assert cached_blobs("k2", 2, make) == (b"keras", b"tflite")
    assert len(made) == 2


def test_without_the_folder_it_makes_the_value_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TEST_CACHE_ENV, raising=False)
    made: list[int] = []
    for _ in range(2):
        assert cached_blobs("k", 1, lambda: made.append(1) or [b"x"]) == (b"x",)
    assert len(made) == 2


def test_a_wrong_count_is_refused_and_nothing_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TEST_CACHE_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="expected 2 byte strings, got 1"):
        cached_blobs("k", 2, lambda: [b"only one"])
    assert cached_blobs("k", 2, lambda: [b"a", b"b"]) == (b"a", b"b")


def test_two_processes_share_one_making(tmp_path: Path) -> None:
    """Two processes ask at once; the file lock lets one make the value and the other read it."""
    log = tmp_path / "made.log"
    script = (
        "import os, time\n"
        "from tests.disk_cache import cached_blobs\n"
        "def make():\n"
        f"    with open({str(log)!r}, 'a') as f: f.write('made\\n')\n"
        "    time.sleep(0.5)\n"
        "    return [str(os.getpid()).encode()]\n"
        "print(cached_blobs('shared', 1, make)[0].decode())\n"
    )
    env = {TEST_CACHE_ENV: str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    (tmp_path / "cache").mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]
    assert log.read_text() == "made\n"
