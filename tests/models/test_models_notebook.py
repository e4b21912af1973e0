"""The error-analysis notebook runs top to bottom against the test registry and tiny eval data."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "error_analysis.ipynb"


def test_error_analysis_notebook_executes(baseline_champion, tiny_data, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_EVAL_DIR", str(tiny_data["eval"]))
    monkeypatch.setenv("COMPLAINTS_EVAL_SET", "simulated")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parents[1])}}
    ).execute()
    outputs = {c.source.splitlines()[0]: c.get("outputs", []) for c in nb.cells if c.cell_type == "code"}
    text = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for outs in outputs.values()
        for o in outs
    )
    assert "冠军模型: complaint-classifier/" in text
    assert "macro-F1" in text
    assert any(
        "image/png" in o.get("data", {}) for outs in outputs.values() for o in outs
    )  # confusion matrix
    assert "错误 " in text
