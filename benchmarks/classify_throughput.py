"""Classification throughput and peak memory, end to end (export file -> JSONL), per model and size.

Rows: baseline (TF-IDF + calibrated linear), transformer in PyTorch (eager) and
transformer through ONNX Runtime int8, each on 1,000 and 10,000 simulated calls.
Every case runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own;
time covers reading the export, preparing text, predicting and writing JSONL,
not model loading (reported separately; for the baseline it includes starting
its two scoring worker processes, which `complaints classify` and the nightly
flow start while the export is being read).

    .venv/bin/python benchmarks/classify_throughput.py [--sizes 1000 10000]
        [--baseline-uri URI] [--transformer-uri URI]

Without URIs the newest registered version of each kind of `complaint-classifier`
is used (run tag ``kind``). Targets: baseline >= 3,000 calls/s, ONNX int8 >= 300.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.records import EXPORT_FIELDS

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGETS = {"baseline": 3000, "onnx-int8": 300}


def make_input(n: int, folder: Path) -> Path:
    """n simulated calls in one export file (contract columns only)."""

    from pipeline.simulator import load_labeled, simulate

    nights = folder / f"sim-{n}"
    simulate(nights, days=max(1, n // 900 + 1), seed=777)
    df = load_labeled(nights).head(n)
    path = folder / f"calls-{n}.csv"
    cols = list(EXPORT_FIELDS)
    out = df[cols].copy()
    out["call_time"] = out["call_time"].map(lambda t: t.isoformat())
    out.to_csv(path, index=False)
    return path


def latest_uris() -> dict[str, str]:
    """Newest registered version of each kind (baseline / transformer)."""
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
    out = input_path.with_suffix(f".{kind}.jsonl")
    started = time.perf_counter()
    outcome = classify_file(input_path, out, model, progress=False)
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "calls": outcome.written,
        "seconds": seconds,
        "calls_per_s": outcome.written / seconds,
        "load_s": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_worker_rss_mb": children / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--baseline-uri")
    parser.add_argument("--transformer-uri")
    parser.add_argument("--transformer-run", help="run id holding hf_model/ (PyTorch row)")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "URI", "RUN", "INPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.child:
        kind, uri, run_id, input_path = args.child
        print(json.dumps(one_case(kind, uri, run_id if run_id != "-" else None, Path(input_path))))
        return

    found = latest_uris()
    cases = []
    if args.baseline_uri or "baseline" in found:
        cases.append(("baseline", args.baseline_uri or found["baseline"], "-"))
    if args.transformer_uri or "transformer" in found:
        uri = args.transformer_uri or found["transformer"]
        run = args.transformer_run or found.get("transformer_run", "-")
        cases += [("pytorch", uri, run), ("onnx-int8", uri, "-")]
    if not cases:
        sys.exit("没有已注册的分类模型：请先运行 complaints train")

    print(f"cpus={os.cpu_count()} torch_threads={os.environ.get('OMP_NUM_THREADS', 'default')}")
    print(
        f"{'model':<11}{'calls':>7}{'calls/s':>10}{'seconds':>9}{'load s':>8}{'peak MB':>9}{'workers MB':>11}  target"
    )
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {n: make_input(n, Path(tmp)) for n in args.sizes}
        for kind, uri, run in cases:
            for n, path in inputs.items():
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", kind, uri, run, str(path)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0:
                    print(f"{kind:<11}{n:>7}  failed: {proc.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                target = TARGETS.get(kind)
                verdict = (
                    "" if target is None else f">= {target}: {'yes' if r['calls_per_s'] >= target else 'NO'}"
                )
                print(
                    f"{kind:<11}{r['calls']:>7}{r['calls_per_s']:>10.0f}{r['seconds']:>9.2f}{r['load_s']:>8.1f}"
                    f"{r['peak_rss_mb']:>9.0f}{r['peak_worker_rss_mb']:>11.0f}  {verdict}"
                )


if __name__ == "__main__":
    main()
