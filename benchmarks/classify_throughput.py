"""Classification throughput and peak memory, end to end (export file -> JSONL), per model and size.

Rows: baseline (TF-IDF + calibrated linear), transformer in PyTorch (eager),
transformer through ONNX Runtime int8, and the ensemble (ONNX int8 transformer
blended with the n-gram model, the champion users get), each on 1,000, 10,000
and, with ``--sizes ... 100000``, 100,000 simulated calls (cached under
``$COMPLAINTS_BENCH_CACHE``, see benchmarks/bench_data.py). Every case runs
``--repeats`` times, each in a fresh subprocess so its peak RSS (ru_maxrss) is
its own; calls/s is the median with the range over repeats. Time covers reading
the export, preparing text, predicting and writing JSONL, not model loading
(reported separately; it includes starting the n-gram model's two scoring
worker processes, which `complaints classify` and the nightly flow start while
the export is being read). ``cpu s`` is the CPU time of the case and its workers:
on a shared machine calls per CPU-second moves less with the load than calls/s.
The machine's load average is printed with every row.

    .venv/bin/python benchmarks/classify_throughput.py [--sizes 1000 10000] [--repeats 3]
        [--kinds baseline,onnx-int8,ensemble] [--baseline-uri URI] [--transformer-uri URI]
        [--ensemble-uri URI]

Without URIs the newest registered version of each kind of `complaint-classifier`
is used (run tag ``kind``). Targets: baseline >= 3,000 calls/s, ONNX int8 >= 300,
ensemble >= 400 (issue 10), on two idle cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import export_file, interval, load_text  # noqa: E402

TARGETS = {"baseline": 3000, "onnx-int8": 300, "ensemble": 400}
KINDS = ("baseline", "pytorch", "onnx-int8", "ensemble")


def cpu_seconds() -> float:
    """User + system time of this process and its live children (the n-gram model's workers)."""
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def latest_uris() -> dict[str, str]:
    """Newest registered version of each kind (baseline / transformer / ensemble)."""
    from mlflow.tracking import MlflowClient

    from models.registry import configure_mlflow
    from models.settings import classifier_settings

    configure_mlflow()
    client = MlflowClient()
    name = classifier_settings().registered_name
    found: dict[str, tuple[int, str, str]] = {}
    for mv in client.search_model_versions(f"name='{name}'"):
        kind = client.get_run(mv.run_id).data.tags.get("kind") if mv.run_id else None
        if kind and (kind not in found or int(mv.version) > found[kind][0]):
            found[kind] = (int(mv.version), f"models:/{name}/{mv.version}", mv.run_id)
    return {k: v[1] for k, v in found.items()} | {f"{k}_run": v[2] for k, v in found.items()}


def load_model(kind: str, uri: str, run_id: str | None):
    from models.registry import configure_mlflow, load_classifier
    from models.types import warm_up

    configure_mlflow()
    if kind != "pytorch":
        model = load_classifier(model_uri=uri)
        warm_up(model, wait=True)
        return model
    import mlflow

    from models.torch_classifier import TorchClassifier

    onnx = load_classifier(model_uri=uri)
    hf_dir = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="hf_model")
    return TorchClassifier.from_dir(hf_dir, onnx.text_prep, onnx.review_threshold, onnx.max_len)


def one_case(kind: str, uri: str, run_id: str | None, input_path: Path) -> dict:
    """Runs inside the child process: load, classify the file, report timings and peak memory."""
    from models.batch_classify import classify_file

    started = time.perf_counter()
    model = load_model(kind, uri, run_id)
    load_s = time.perf_counter() - started
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"classify-bench-{os.getpid()}.{kind}.jsonl"
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    outcome = classify_file(input_path, out, model, progress=False)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    out.unlink(missing_ok=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "calls": outcome.written,
        "seconds": seconds,
        "calls_per_s": outcome.written / seconds,
        "cpu_s": cpu,
        "load": load_text(),
        "load_s": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_worker_rss_mb": children / 1024,
    }


def run_case(kind: str, uri: str, run: str, path: Path) -> dict | str:
    """One case in a fresh process: its result, or the last line of its error."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, uri, run, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return f"failed: {proc.stderr.strip().splitlines()[-1:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, from {', '.join(KINDS)}")
    parser.add_argument("--baseline-uri")
    parser.add_argument("--transformer-uri")
    parser.add_argument("--ensemble-uri")
    parser.add_argument("--transformer-run", help="run id holding hf_model/ (PyTorch row)")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "URI", "RUN", "INPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.child:
        kind, uri, run_id, input_path = args.child
        print(json.dumps(one_case(kind, uri, run_id if run_id != "-" else None, Path(input_path))))
        return

    wanted = {k.strip() for k in args.kinds.split(",") if k.strip()}
    found = latest_uris()
    cases = []
    if "baseline" in wanted and (args.baseline_uri or "baseline" in found):
        cases.append(("baseline", args.baseline_uri or found["baseline"], "-"))
    if args.transformer_uri or "transformer" in found:
        uri = args.transformer_uri or found["transformer"]
        run = args.transformer_run or found.get("transformer_run", "-")
        cases += [(k, uri, run if k == "pytorch" else "-") for k in ("pytorch", "onnx-int8") if k in wanted]
    if "ensemble" in wanted and (args.ensemble_uri or "ensemble" in found):
        cases.append(("ensemble", args.ensemble_uri or found["ensemble"], "-"))
    if not cases:
        sys.exit("没有已注册的分类模型：请先运行 complaints train 或 complaints bootstrap")

    print(
        f"cpus={os.cpu_count()} torch_threads={os.environ.get('OMP_NUM_THREADS', 'default')}  {load_text()}"
    )
    inputs = {n: export_file(n) for n in args.sizes}
    print(
        f"{'model':<10}{'calls':>7}  {'calls/s median [range]':<24}{'cpu s':>7}{'calls/cpu-s':>12}"
        f"{'load s':>8}{'peak MB':>9}{'workers MB':>11}  target  load during runs"
    )
    for kind, uri, run in cases:
        for n, path in inputs.items():
            runs = [run_case(kind, uri, run, path) for _ in range(max(1, args.repeats))]
            ok = [r for r in runs if isinstance(r, dict)]
            if not ok:
                print(f"{kind:<10}{n:>7}  {runs[-1]}")
                continue
            rates = [r["calls_per_s"] for r in ok]
            median_rate = sorted(rates)[len(rates) // 2]
            cpu = sorted(r["cpu_s"] for r in ok)[len(ok) // 2]
            target = TARGETS.get(kind)
            verdict = "" if target is None else f">= {target}: {'yes' if median_rate >= target else 'NO'}"
            print(
                f"{kind:<10}{ok[0]['calls']:>7}  {interval(rates):<24}{cpu:>7.1f}{ok[0]['calls'] / cpu:>12.0f}"
                f"{max(r['load_s'] for r in ok):>8.1f}{max(r['peak_rss_mb'] for r in ok):>9.0f}"
                f"{max(r['peak_worker_rss_mb'] for r in ok):>11.0f}  {verdict}  "
                + " | ".join(r["load"].split(" on ")[0] for r in ok)
            )


if __name__ == "__main__":
    main()
