"""Print diversity figures of simulator output: sentence variety, the 1% rule, labels, escalation, repeats.

Usage: ``python benchmarks/simulator_diversity.py [DIR]`` reads existing nights; without DIR it
simulates ``--days`` nights (default 10, scale 1) into a temporary folder and also prints the time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.labels import LABELS  # noqa: E402
from pipeline.simulator import load_labeled, simulate  # noqa: E402
from pipeline.simulator.banks import grammar  # noqa: E402
from pipeline.simulator.metrics import agent_naming_share, char_ngrams, sentence_call_counts  # noqa: E402
from pipeline.simulator.textbank import text_bank  # noqa: E402


def category_names() -> list[str]:
    """Every wording of a category name the agent templates can say (the catname_* banks)."""
    g = grammar()
    rng = __import__("random").Random(0)
    names = set()
    for label in LABELS:
        for _ in range(200):
            names.add(g.expand(f"catname_{label}", rng, "train", {}))
    # the formal names only (停电故障, 电压质量 ...): two-character words like 停电 are ordinary speech
    return sorted(n for n in names if len(n) >= 4)


def bank_report() -> None:
    """The whole-written bank: items per category x register x writer, and its most repeated sentence."""
    bank = text_bank()
    if not len(bank):
        print("text bank                      (empty: data/simbank has no items)")
        return
    import pandas as pd

    df = pd.DataFrame(
        [
            {"category": i.category, "register": i.register, "writer": i.writer, "subtype": i.subtype}
            for i in bank.items
        ]
    )
    print(f"text bank items                {len(df)}  writers {df['writer'].nunique()}")
    print(
        df.pivot_table(
            index=["category", "register"], columns="writer", aggfunc="size", fill_value=0
        ).to_string()
    )
    print("items per category             " + str(df["category"].value_counts().to_dict()))
    counts, _ = sentence_call_counts([i.text for i in bank.items])
    top = counts.most_common(3)
    print(f"bank: most frequent sentence   {top[0][1] / len(df):.3%} of items  {top[0][0]}")


def report(root: Path) -> None:
    df = load_labeled(root)
    n = len(df)
    counts, _ = sentence_call_counts(df["transcript"])
    top = counts.most_common(8)
    print(f"calls                          {n}")
    print(f"nights                         {df['call_time'].dt.date.nunique()}")
    per_night = df.groupby(df["call_time"].dt.date).size()
    print(
        f"calls per night                min {per_night.min()}  mean {per_night.mean():.0f}  max {per_night.max()}"
    )
    print(f"distinct customer sentences    {len(counts)}")
    print(f"most frequent sentence share   {top[0][1] / n:.3%}  (rule: < 1%)")
    for s, c in top:
        print(f"    {c / n:.3%}  {s}")
    print(f"distinct customer 4-grams      {len(char_ngrams(df['transcript']))}")
    print("label balance (calls)")
    for label in LABELS:
        share = (df["category"] == label).mean()
        print(f"    {label:14s} {share:6.1%}")
    problems = df.groupby("problem_id").agg(esc=("escalated_12398", "max"), calls=("call_id", "size"))
    print(f"problems                       {len(problems)}")
    print(f"escalation rate (problems)     {problems['esc'].mean():.2%}")
    print(f"escalated calls share          {df['escalated_12398'].mean():.2%}")
    print(f"problems with repeat calls     {(problems['calls'] > 1).mean():.2%}")
    seen = df.sort_values("call_time").duplicated("customer_key")
    print(f"repeat-caller share (calls)    {seen.mean():.2%}")
    print(f"channels                       {df['channel'].value_counts(normalize=True).round(3).to_dict()}")
    share = agent_naming_share(df["transcript"], category_names())
    print(f"agent names the category       {share:.1%} of calls with agent turns (rule: <= 15%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", nargs="?", type=Path)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--holdout", action="store_true")
    args = parser.parse_args()
    bank_report()
    if args.dir is not None:
        report(args.dir)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = simulate(tmp, args.days, args.seed, scale=args.scale, holdout=args.holdout)
        elapsed = time.perf_counter() - t0
        print(f"simulated {summary.calls} calls in {elapsed:.1f} s ({summary.calls / elapsed:.0f} calls/s)")
        report(Path(tmp))


if __name__ == "__main__":
    main()
