"""benchmarks/ is a package run as `python -m benchmarks.<name>` from the repository root: no
benchmark edits sys.path, the benchmarks import each other without a cycle, and every runnable
benchmark (one with a `__main__` block; the others are libraries, which `make bench` skips) says
how to run it that way in its docstring; none is over the house line limit. The checks read the source (ast), so they import nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_layout import MAX_LINES, imports_in

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def modules() -> dict[str, str]:
    """{module name: source} for every benchmarks/*.py but the package's __init__."""
    return {
        p.stem: p.read_text(encoding="utf-8") for p in sorted(BENCHMARKS.glob("*.py")) if p.stem != "__init__"
    }


def sys_path_uses(source: str) -> list[int]:
    """Lines that touch `sys.path` (any attribute access on it, or `from sys import path`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "path":
            if isinstance(node.value, ast.Name) and node.value.id == "sys":
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            lines += [node.lineno for alias in node.names if alias.name == "path"]
    return lines


def benchmark_imports(source: str) -> set[str]:
    """Names of the benchmarks modules `source` imports, at any depth (inside functions too)."""
    found = set()
    for _, module in imports_in(source, "benchmarks"):
        parts = module.split(".")
        if parts[0] == "benchmarks" and len(parts) > 1:
            found.add(parts[1])
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph` ({module: modules it imports}) as a path, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def is_runnable(source: str) -> bool:
    return any(
        isinstance(node, ast.If)
        and "__name__" in ast.unparse(node.test)
        and "__main__" in ast.unparse(node.test)
        for node in ast.parse(source).body
    )


def test_no_benchmark_edits_sys_path() -> None:
    edits = {name: lines for name, source in modules().items() if (lines := sys_path_uses(source))}
    assert edits == {}, (
        f"run benchmarks with `python -m benchmarks.<name>` instead of editing sys.path: {edits}"
    )


def test_benchmarks_import_each_other_without_a_cycle() -> None:
    graph = {name: benchmark_imports(source) - {name} for name, source in modules().items()}
    assert find_cycle(graph) is None, f"benchmarks import each other in a cycle: {find_cycle(graph)}"


def test_no_benchmark_over_the_line_limit() -> None:
    long = {name: n for name, source in modules().items() if (n := len(source.splitlines())) > MAX_LINES}
    assert long == {}, f"split benchmarks over {MAX_LINES} lines into a library module: {long}"


def test_every_runnable_benchmark_says_how_to_run_it_as_a_module() -> None:
    runnable = {name: source for name, source in modules().items() if is_runnable(source)}
    assert {"train", "predict", "faces", "interop"} <= set(runnable)
    missing = [
        name
        for name, source in runnable.items()
        if f"python -m benchmarks.{name}" not in (ast.get_docstring(ast.parse(source)) or "")
    ]
    assert missing == [], f"docstrings without a `python -m benchmarks.<name>` usage line: {missing}"


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("import sys\nsys.path.insert(0, 'x')\n", [2]),
        ("import sys\nif 'x' not in sys.path:\n    pass\n", [2]),
        ("from sys import path\n", [1]),
        ("import os\nos.path.join('a')\n", []),
    ],
)
def test_sys_path_uses_are_found(source: str, lines: list[int]) -> None:
    assert sys_path_uses(source) == lines


@pytest.mark.parametrize(
    ("graph", "has_cycle"),
    [
        ({"common": set(), "train": {"common"}, "scenes": {"train", "common"}}, False),
        ({"common": {"train"}, "train": {"common"}}, True),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
    ],
)
def test_find_cycle(graph: dict[str, set[str]], has_cycle: bool) -> None:
    assert (find_cycle(graph) is not None) is has_cycle


def test_imports_inside_functions_count() -> None:
    source = "def f():\n    from benchmarks.train import prepare_dataset\n    from benchmarks import common\n"
    assert benchmark_imports(source) == {"train", "common"}
