"""Simulated exports for the benchmarks, made once and cached, plus the machine's load beside each figure.

A 100,000-call night takes minutes to simulate; reruns reuse it from
``$COMPLAINTS_BENCH_CACHE`` (default ``<tmp>/complaints-bench``). A folder only
counts as cached once it is complete, so an interrupted simulation is redone,
and a clean machine simply simulates what it lacks.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeline.records import EXPORT_FIELDS

DONE = ".complete"


def cache_dir() -> Path:
    return Path(os.environ.get("COMPLAINTS_BENCH_CACHE") or Path(tempfile.gettempdir()) / "complaints-bench")


def night_folder(calls: int, seed: int = 2026, base: Path | None = None) -> Path:
    """About ``calls`` simulated calls (several simulated days at a larger scale, read as one export)."""
    from pipeline.simulator import simulate

    base = base or cache_dir()
    target = base / f"night-{calls}-seed{seed}"
    if (target / DONE).exists():
        return target
    partial = base / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    scale = max(1.0, min(10.0, calls / 1000))
    days = max(1, math.ceil(calls / (1000 * scale)))
    simulate(partial, days=days, seed=seed, scale=scale, progress=True)
    (partial / DONE).write_text(f"{calls} {seed}\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def export_file(calls: int, seed: int = 2026, base: Path | None = None) -> Path:
    """Exactly ``calls`` calls (fewer if the simulation made fewer) in one CSV with the contract columns."""
    from pipeline.simulator import load_labeled

    base = base or cache_dir()
    path = base / f"calls-{calls}-seed{seed}.csv"
    if path.exists():
        return path
    df = load_labeled(night_folder(calls, seed, base)).head(calls)
    out = df[list(EXPORT_FIELDS)].copy()
    out["call_time"] = out["call_time"].map(lambda t: t.isoformat())
    tmp = path.with_suffix(".partial")
    out.to_csv(tmp, index=False)
    tmp.rename(path)
    return path


def load_text() -> str:
    """``os.getloadavg()`` as printed beside every figure: the machine is shared, say how busy it was."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f} on {os.cpu_count()} cpus"


def interval(values: Sequence[float], fmt: str = ".0f") -> str:
    """Median and range over repeats (``x`` alone for one run)."""
    if len(values) == 1:
        return format(values[0], fmt)
    return (
        f"{format(statistics.median(values), fmt)} [{format(min(values), fmt)}, {format(max(values), fmt)}]"
    )
