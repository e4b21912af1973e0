"""End-to-end throughput of the nightly-scoring flow: calls/s, time per stage, peak memory.

Simulates a night of N calls (the simulator at a larger scale; cached under
``$COMPLAINTS_BENCH_CACHE`` so reruns reuse it, see benchmarks/bench_data.py),
then runs the real flow (ingest, classify, risk, slips, SQLite) against a fresh
SQLite database with the registered champion (the ensemble after
``complaints bootstrap``), once per runner and repeat: local threads, local
processes, and a local two-worker Dask cluster. Stage times come from the
Prefect task runs of each flow run (wall span from the first start to the last
end of that task name); memory is the peak summed RSS of this process and all
its children (Dask workers included), sampled every 0.2 s. The machine's load
average is printed with every run. Target (issue 10): a 100,000-call night in
at most 6 minutes under 4 GiB on two cores.

    .venv/bin/python benchmarks/nightly_throughput.py --calls 10000 --runners threads,dask
    .venv/bin/python benchmarks/nightly_throughput.py --calls 100000 --runners threads
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import interval, load_text, night_folder  # noqa: E402

RUNNERS = ("threads", "processes", "dask")


class PeakMemory:
    """Peak of the summed RSS of this process tree, sampled in a background thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def _stage_times(flow_run_id) -> dict[str, float]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
        )
    spans: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        if run.start_time and run.end_time:
            name = run.name.rsplit("-", 1)[0]
            spans[name] += [run.start_time.timestamp(), run.end_time.timestamp()]
    return {name: max(v) - min(v) for name, v in spans.items()}


def run_once(
    runner: str, source: Path, night: str, partition_size: int, workers: int, classifier_uri: str | None
) -> dict:
    from flows.nightly import nightly_scoring, task_runner

    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        cluster = None
        address = None
        if runner == "dask":
            from distributed import LocalCluster

            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            address = cluster.scheduler_address
        chosen = nightly_scoring.with_options(
            task_runner=task_runner(address, "processes" if runner == "processes" else "threads", workers)
        )
        try:
            with PeakMemory() as memory:
                start = time.perf_counter()
                state = chosen(
                    night=night,
                    source=str(source),
                    db_url=db_url,
                    classifier_uri=classifier_uri,
                    partition_size=partition_size,
                    return_state=True,
                )
                elapsed = time.perf_counter() - start
        finally:
            if cluster is not None:
                cluster.close()
        result = state.result()
        stages = asyncio.run(_stage_times(state.state_details.flow_run_id))
    calls = result["counts"]["to_score"]
    return {
        "load": load_text(),
        "runner": runner,
        "calls": calls,
        "seconds": elapsed,
        "calls_per_s": calls / elapsed if elapsed else float("nan"),
        "peak_gib": memory.peak / 2**30,
        "stages": stages,
        "slips": result["slips"],
        "models": result["model_versions"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--runners", default="threads,dask", help=f"comma-separated, from {', '.join(RUNNERS)}"
    )
    parser.add_argument("--partition-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="cache folder of simulated nights (default: bench_data.cache_dir())",
    )
    parser.add_argument(
        "--classifier-uri", default=None, help="e.g. models:/complaint-classifier/2 (default: the champion)"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    runners = [r.strip() for r in args.runners.split(",") if r.strip()]
    unknown = set(runners) - set(RUNNERS)
    if unknown:
        parser.error(f"unknown runners: {', '.join(sorted(unknown))}")

    rows = []
    print(load_text())
    for n in args.calls:
        source = night_folder(n, args.seed, args.data)
        for runner in runners:
            for _ in range(max(1, args.repeats)):
                row = run_once(
                    runner, source, "2026-07-01", args.partition_size, args.workers, args.classifier_uri
                )
                rows.append(row)
                stages = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(row["stages"].items()))
                print(
                    f"{row['calls']:>7} calls  {runner:<9} {row['seconds']:7.1f} s  "
                    f"{row['calls_per_s']:7.1f} calls/s  peak {row['peak_gib']:.2f} GiB  [{stages}]  "
                    f"models {row['models']}  {row['load']}",
                    flush=True,
                )

    print(
        "\n| calls | runner | total s | minutes | calls/s | peak GiB | ingest s | classify s | assess+store s "
        "| report s | load (1/5/15 min) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["stages"]
        print(
            f"| {r['calls']} | {r['runner']} | {r['seconds']:.0f} | {r['seconds'] / 60:.1f} | {r['calls_per_s']:.1f} "
            f"| {r['peak_gib']:.2f} | {s.get('ingest', 0):.1f} | {s.get('classify-partition', 0):.1f} | "
            f"{s.get('assess-and-store', 0):.1f} | {s.get('report', 0):.1f} | {r['load'].split(' on ')[0]} |"
        )
    for (calls, runner), group in _grouped(rows).items():
        print(
            f"{calls} calls, {runner}: calls/s {interval([r['calls_per_s'] for r in group])}, "
            f"minutes {interval([r['seconds'] / 60 for r in group], '.1f')}, "
            f"peak GiB max {max(r['peak_gib'] for r in group):.2f} over {len(group)} runs"
        )


def _grouped(rows: list[dict]) -> dict[tuple[int, str], list[dict]]:
    out: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in rows:
        out[(r["calls"], r["runner"])].append(r)
    return out


if __name__ == "__main__":
    main()
