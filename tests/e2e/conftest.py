"""Browser-test harness: the real app on a free loopback port, driven by Playwright in Debian's
headless Chromium (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MASK_STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    url: str
    workspace: Path
    process: subprocess.Popen[bytes]
    log: Path


def app_command(port: int) -> list[str]:
    """The command that serves the app headless on 127.0.0.1:`port` (the browser tests, the
    Live sandbox and `make screenshots` all start it this way)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(REPO / "home.py"),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip


def wait_until_answers(
    proc: subprocess.Popen[bytes], log: Path, answers: Callable[[], bool], timeout: float
) -> None:
    """Poll `answers()` until true; RuntimeError with the log's tail when the app exits first or
    does not answer within `timeout` seconds (then it is killed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{log.read_text(errors='replace')[-3000:]}")
        if answers():
            return
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(
        f"the app did not answer in {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}"
    )


def start_app(workspace: Path, log: Path, env_extra: dict[str, str] | None = None) -> AppServer:
    """Start the app (app_command) on a free port and wait until it answers."""
    port = free_port()
    env = dict(os.environ, MASK_STUDIO_WORKSPACE=str(workspace), **(env_extra or {}))
    fh = open(log, "wb")
    proc = subprocess.Popen(app_command(port), cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until_answers(proc, log, healthy, 90)
    return AppServer(url, workspace, proc, log)


def stop_app(server: AppServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@contextmanager
def serving(base: Path) -> Iterator[AppServer]:
    """The app on a new, empty workspace under `base` (its log beside it), stopped afterwards."""
    workspace = base / "workspace"
    workspace.mkdir()
    server = start_app(workspace, base / "streamlit.log")
    try:
        yield server
    finally:
        stop_app(server)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    with serving(tmp_path_factory.mktemp("e2e")) as server:
        yield server


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[object]:
    """The one sync Playwright of the test session (a second one in the same thread fails)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance) -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium")
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, tmp_path: Path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        shot = tmp_path / "failure.png"
        pg.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def wait_for_app(pg, settle_ms: int = 400, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished its script run and nothing on the page is stale.

    Streamlit keeps the previous run's elements (marked data-stale) while a rerun is under
    way, so a locator can see two copies; this waits for a quiet page, twice in a row.
    """
    pg.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    quiet = """() => !document.querySelector("[data-testid='stStatusWidgetRunningIcon'],"
        + "[data-testid='stStatusWidgetRunningManIcon'], [data-stale='true']")
        && !!document.querySelector("[data-testid='stMain'] [data-testid='stElementContainer']")"""
    deadline = time.monotonic() + timeout_ms / 1000
    streak = 0
    while time.monotonic() < deadline:
        if pg.evaluate(quiet):
            streak += 1
            if streak >= 2:
                return
        else:
            streak = 0
        pg.wait_for_timeout(settle_ms // 2)
    raise TimeoutError(f"the app was still running after {timeout_ms} ms")


def create_project(pg, name: str, folder: str, categories: str | None = None) -> None:
    """Create an annotation project from the sidebar and wait until it is open.

    `categories` (comma-separated) replaces the suggested ones; None keeps the suggestion.
    """
    from playwright.sync_api import expect

    wait_for_app(pg)
    sidebar = pg.get_by_test_id("stSidebar")
    sidebar.get_by_label("New project name").fill(name)
    if categories is not None:
        sidebar.get_by_role("textbox", name="Its categories").fill(categories)
    sidebar.get_by_role("button", name="Create project").click()
    expect(pg.get_by_text(f"Created project {folder}.")).to_be_visible(timeout=60_000)
    wait_for_app(pg)


def open_section(pg, name: str) -> None:
    """Click a page's section button (a keyed segmented control) and wait for the page."""
    wait_for_app(pg)
    pg.get_by_test_id("stMain").get_by_test_id("stButtonGroup").get_by_text(name, exact=True).first.click()
    wait_for_app(pg)


def upload_to_sidebar(pg, path: str) -> None:
    """Upload one image through the annotator's sidebar uploader and wait for the canvas."""
    pg.get_by_test_id("stSidebar").locator("input[type=file]").last.set_input_files(path)
    canvas_box(pg)
    wait_for_app(pg)


def section_is(pg, name: str) -> None:
    """The section switch still shows `name` as chosen (after a rerun or an action)."""
    group = pg.get_by_test_id("stMain").get_by_test_id("stButtonGroup").first
    chosen = group.locator("[aria-checked='true'], [aria-pressed='true'], [data-selected='true']")
    expect(chosen.first).to_have_text(name)


def upload_files(pg, scope: str, paths: str | list[str], shown: str, *, which: str = "last") -> None:
    """Give files to the `which` ("first"/"last") file input inside test id `scope` and wait
    until the uploader lists `shown` (a file name). A rerun that replaces the uploader under
    the call (its key changed) drops the files, so the upload is tried again."""
    for _ in range(3):
        wait_for_app(pg)
        inputs = pg.get_by_test_id(scope).locator("input[type=file]")
        (inputs.first if which == "first" else inputs.last).set_input_files(paths)
        try:
            expect(pg.get_by_test_id(scope).get_by_text(shown, exact=True).first).to_be_visible(
                timeout=20_000
            )
        except AssertionError:
            continue
        wait_for_app(pg)
        return
    raise TimeoutError(f"the uploader never listed {shown!r}")


def canvas_box(pg, timeout_ms: int = 60_000) -> dict[str, float]:
    """The drawing canvas's bounding box, once it is attached and laid out."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        loc = pg.locator("canvas.upper-canvas")
        if loc.count() == 1:
            bb = loc.bounding_box()
            if bb and bb["width"] > 0:
                return bb
        pg.wait_for_timeout(200)
    raise TimeoutError("no drawing canvas appeared")


def canvas_counts(pg, seconds: float = 4.0, every_ms: int = 150) -> list[int]:
    """How many drawing canvases the page shows, sampled for `seconds` (a stale copy left
    mounted beside the live one shows as 2)."""
    counts = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        counts.append(pg.locator("canvas.upper-canvas").count())
        pg.wait_for_timeout(every_ms)
    return counts


def select_option(pg, label, option: str, attempts: int = 6) -> None:
    """Open the Streamlit selectbox labelled `label` (text or regex) and choose `option`."""
    for _ in range(attempts):
        wait_for_app(pg)
        box = pg.get_by_label(label, exact=True) if isinstance(label, str) else pg.get_by_label(label)
        box = box.filter(visible=True).first
        try:
            box.click(timeout=10_000)
            pg.get_by_role("option", name=option, exact=True).first.click(timeout=8_000)
            pg.keyboard.press("Escape")  # a multiselect stays open after a choice
        except Exception:  # noqa: BLE001 - the page re-rendered under the click: try again
            pg.keyboard.press("Escape")
            continue
        wait_for_app(pg)
        return
    raise TimeoutError(f"could not choose {option!r} in {label!r}")
