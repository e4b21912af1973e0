"""Throughput of the risk half of the nightly batch: features, assessment, slips and storage.

Simulates a few nights, takes the simulator's true categories as the
classification (so only risk work is timed), and scores night after night into
a fresh database with the keyword baseline (or ``--model-uri``). Prints calls
per second for feature replay and for ``assess_and_store``.

    .venv/bin/python benchmarks/bench_risk_scoring.py --nights 3 --scale 0.5 [--db postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipeline.ingest import read_export
from pipeline.risk.baseline import KeywordBaseline
from pipeline.risk.config import load_risk_config
from pipeline.scoring import ClassifiedCall, assess_and_store, night_of
from pipeline.simulator import simulate
from pipeline.storage import upgrade
from pipeline.storage.scratch import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--db", default=None, help="PostgreSQL base URL; default a SQLite file")
    parser.add_argument(
        "--model-uri", default=None, help="MLflow URI of a risk model; default keyword baseline"
    )
    args = parser.parse_args()

    risk_model = KeywordBaseline()
    if args.model_uri:
        from models.risk.model import load_risk_model

        risk_model = load_risk_model(model_uri=args.model_uri)
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        simulate(sim, days=args.nights, seed=3, scale=args.scale)
        records = read_export(sim).records
        by_night: dict = {}
        for record in records:
            by_night.setdefault(night_of(record.call_time), []).append(record)

        from models.risk.replay import replay

        start = time.perf_counter()
        replay(records, load_risk_config())
        replay_s = time.perf_counter() - start
        print(
            f"feature replay: {len(records)} calls in {replay_s:.2f} s = {len(records) / replay_s:,.0f} calls/s"
        )

        kind = "postgresql" if args.db else "sqlite"
        with scratch_database(kind, Path(tmp), args.db) as url:
            engine = upgrade(url)
            total, elapsed = 0, 0.0
            for night, night_records in sorted(by_night.items()):
                classified = [
                    ClassifiedCall(
                        r, r.category or "other", 1.0, {r.category or "other": 1.0}, False, "truth"
                    )
                    for r in night_records
                ]
                start = time.perf_counter()
                scored = assess_and_store(engine, classified, risk_model, night)
                took = time.perf_counter() - start
                total, elapsed = total + len(scored), elapsed + took
                slips = len({s.slip_no for s in scored if s.slip_no})
                print(
                    f"{night}: {len(scored)} calls, {slips} slips, {took:.2f} s = {len(scored) / took:,.0f} calls/s"
                )
            start = time.perf_counter()
            assess_and_store(engine, classified, risk_model, night)
            rescore = time.perf_counter() - start
            engine.dispose()
        print(
            f"assess_and_store on {kind}: {total} calls in {elapsed:.2f} s = {total / elapsed:,.0f} calls/s"
        )
        print(f"rescoring the last night (all already stored): {rescore:.2f} s")


if __name__ == "__main__":
    main()
