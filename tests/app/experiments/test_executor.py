"""AppTest of the Queue section's executor (app/experiments/executor.py): the Ray address is
saved in the workspace, a bad one is refused, an unreachable cluster is said plainly, and an
interrupted run is queued again."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app.widgets.common import literal
from core.training import executors
from tests.pages.conftest import open_page, open_section, run, texts


def app() -> AppTest:
    return open_page("experiments.py")


def test_the_executor_address_is_saved_and_a_bad_one_refused(workspace, monkeypatch) -> None:
    monkeypatch.delenv(executors.ENV_ADDRESS, raising=False)
    at = open_section(run(app()), "Queue")
    assert "Executor: this machine (local worker)" in [e.label for e in at.expander]
    at.text_input(key="executor_address").set_value("not an address")
    at.button(key="executor_save").click()
    run(at)
    assert literal("is not host:port") in texts(at) and executors.ray_address() == ""
    at.text_input(key="executor_address").set_value("127.0.0.1:6379")
    at.button(key="executor_save").click()
    run(at)
    assert executors.ray_address() == "127.0.0.1:6379"
    assert literal("Executor: Ray cluster 127.0.0.1:6379") in [e.label for e in at.expander]
    executors.write_cluster_state(reachable=False, address="127.0.0.1:6379", error="connection refused")
    run(at)
    assert "The Ray cluster is unreachable: connection refused" in texts(at)
