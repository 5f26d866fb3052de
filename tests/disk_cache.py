"""A per-run disk cache that pytest-xdist workers share, for test inputs that are slow to make
(a tiny trained model and its LiteRT copy take seconds; tests ask for the same ones dozens of
times).

tests/conftest.py makes one temporary folder per test run and names it in MASK_STUDIO_TEST_CACHE
before the xdist workers start, so they inherit it. `cached_blobs` keys an entry by the hash of
everything it depends on; the first process to ask makes it under a file lock and writes it
atomically, the others wait and read it. Without the variable (a script outside pytest) it
simply makes the value.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from core.fsutil import atomic_write_bytes
from core.locking import folder_lock

TEST_CACHE_ENV = "MASK_STUDIO_TEST_CACHE"


def content_key(*parts: object, files: Sequence[Path] = ()) -> str:
    """A hex digest of `parts` (their repr) and the bytes of `files` (the code that makes the value)."""
    digest = hashlib.sha256(repr(parts).encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def cached_blobs(key: str, count: int, make: Callable[[], Sequence[bytes]]) -> tuple[bytes, ...]:
    """`make()`'s `count` byte strings, made once per test run for `key` (see the module doc)."""
    root = os.environ.get(TEST_CACHE_ENV)
    if not root:
        return tuple(make())
    folder = Path(root) / key
    paths = [folder / f"{i}.bin" for i in range(count)]
    with folder_lock(folder):
        if not all(p.is_file() for p in paths):
            blobs = tuple(make())
            if len(blobs) != count:
                raise ValueError(f"expected {count} byte strings, got {len(blobs)}")
            for path, blob in zip(paths, blobs, strict=True):
                atomic_write_bytes(path, blob)
        return tuple(p.read_bytes() for p in paths)
