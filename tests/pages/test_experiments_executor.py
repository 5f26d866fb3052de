"""AppTest of the Queue section's executor (app/ui/experiments_executor.py): the Ray address is
saved in the workspace, a bad one is refused, an unreachable cluster is said plainly, and an
interrupted run is queued again."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app.ui.common import literal
from core.runs.store import list_runs, run_path, write_status
from core.training import executors
from tests.fake_runs import make_manifest, running_run
from tests.pages.conftest import open_page, open_section, run, texts


def app() -> AppTest:
    return open_page("experiments.py")


def test_the_executor_address_is_saved_and_a_bad_one_refused(workspace, monkeypatch) -> None:  # noqa: ANN001
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


def test_an_interrupted_run_is_queued_again(workspace, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: 4242)
    rid = running_run(make_manifest(), 4242)
    write_status(run_path(rid), state="interrupted", error="the Ray worker training this run died")
    at = open_section(run(app()), "Queue")
    assert "the Ray worker training this run died" in texts(at)
    at.button(key=f"requeue_{rid}").click()
    run(at)
    queued = [r for r in list_runs() if r.state == "queued"]
    assert len(queued) == 1 and queued[0].status["requeued_from"] == rid
