"""One home for the risk ML (issue 11, item 7): each job in its own module, no import circle, and the
model never reaches into the scoring orchestration (``pipeline.scoring``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "models" / "risk"
JOBS = ("features", "replay", "model", "train", "metrics", "plots", "evaluate")
# The old flat modules stay only as re-exports, so models registered before the move still unpickle.
COMPAT = ("models.risk_model", "models.risk_evaluation")


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(name: str) -> set[str]:
    """Project modules ``name`` imports anywhere in its file (module level or inside functions)."""
    path = _module_file(name)
    if path is None:
        return set()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] in {"models", "pipeline"} and _module_file(t))
    return found


def _graph(roots: list[str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in graph:
            continue
        graph[name] = _imports(name)
        todo.extend(graph[name])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


RISK_MODULES = [f"models.risk.{job}" for job in JOBS] + list(COMPAT)


def test_each_job_has_its_own_file_in_one_package():
    assert (HOME / "__init__.py").is_file()
    missing = [job for job in JOBS if not (HOME / f"{job}.py").is_file()]
    assert not missing, f"models/risk/ lacks {missing}"


def test_no_import_circle_among_the_risk_modules():
    graph = _graph(RISK_MODULES)
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph) or [])}"


def test_the_compat_modules_only_point_into_the_new_home():
    for name in COMPAT:
        assert _imports(name) and all(t.startswith("models.risk.") for t in _imports(name)), name


@pytest.mark.parametrize("name", RISK_MODULES)
def test_risk_ml_never_reaches_into_scoring(name):
    reached = set(_graph([name]))
    assert not {m for m in reached if m == "pipeline.scoring" or m.startswith("pipeline.scoring.")}


def test_the_cycle_check_finds_a_circle_and_only_a_circle():
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert _cycle(graph) == ["a", "b", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("job", JOBS)
def test_each_module_imports_alone(job):
    done = subprocess.run(
        [sys.executable, "-c", f"import models.risk.{job}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
