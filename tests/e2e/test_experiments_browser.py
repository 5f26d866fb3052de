"""The Experiments page in a real browser: launch a one-epoch run on a tiny dataset from the UI,
watch it in the queue, and see its curve appear in the comparison."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from core.data.dataset import Dataset
from core.data.split import split_dataset
from core.runs.experiments import short_id
from core.runs.store import list_runs
from tests.e2e.conftest import AppServer, open_section, select_option, wait_for_app

pytestmark = pytest.mark.e2e

WAIT_MS = 240_000  # the worker imports TensorFlow and trains; the page refreshes every 2 s


def tiny_dataset(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Two visually different classes of 12 small images each, split; returns the version id."""
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(workspace))
    ds = Dataset.create("tiny")
    rng = np.random.default_rng(0)
    for label, base in (("with_mask", (40, 90, 200)), ("without_mask", (220, 170, 120))):
        (ds.root / label).mkdir()
        for i in range(12):
            arr = np.clip(np.array(base) + rng.normal(0, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(ds.root / label / f"{i}.png")
    return split_dataset(ds, seed=1).manifest.version


def test_launch_a_one_epoch_run_and_see_its_curve(
    app_server: AppServer,
    page,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = tiny_dataset(app_server.workspace, monkeypatch)
    page.goto(f"{app_server.url}/experiments")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible(timeout=60_000)
    wait_for_app(page)
    expect(page.get_by_label("Dataset version").first).to_have_value(re.compile(f"version {version}"))

    # Replace the default model (MobileNetV2) by LeNet: Backspace removes the last chip.
    models = page.get_by_label("Models").filter(visible=True).first
    models.click()
    page.keyboard.press("Backspace")
    page.keyboard.press("Escape")
    wait_for_app(page)
    expect(page.get_by_test_id("stMultiSelect").first).not_to_contain_text("MobileNetV2")
    select_option(page, "Models", "LeNet-like CNN")
    select_option(page, "Epochs", "1")
    select_option(page, "Image size (px)", "100")
    expect(page.get_by_text("1 run(s)", exact=True)).to_be_visible()
    page.get_by_role("button", name="Start 1 run(s)").click()
    expect(page.get_by_text("Queued 1 run(s)")).to_be_visible(timeout=60_000)

    open_section(page, "Queue")
    run_id = list_runs()[0].run_id
    expect(page.get_by_text(run_id).first).to_be_visible(timeout=60_000)
    open_section(page, "Compare")

    deadline_ms = WAIT_MS
    while deadline_ms > 0 and list_runs()[0].state in ("queued", "running"):
        page.wait_for_timeout(1000)
        deadline_ms -= 1000
    record = list_runs()[0]
    assert record.state == "done", record.status.get("error")
    page.reload()
    wait_for_app(page)
    open_section(page, "Compare")
    # The accuracy chart's legend names the run by its short label (model and short id).
    legend = page.locator(".js-plotly-plot .legendtext", has_text=short_id(run_id))
    expect(legend.first).to_be_visible(timeout=60_000)
    assert record.history and record.history[0]["epoch"] == 1
