"""The processor every core.live test that streams uses (stopped after the test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.live.processor import LiveProcessor


@pytest.fixture
def proc() -> Iterator[LiveProcessor]:
    p = LiveProcessor()
    yield p
    p.stop()
