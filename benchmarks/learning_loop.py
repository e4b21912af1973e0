"""Does the learning loop learn? Eight weeks at a simulated site that speaks unlike the training data.

The models start from the simulator as shipped, trained on four of the six bank writers
(``TRAIN_WRITERS``) in the training phrasing partition. The site's customers speak only like the
other two writers, in sentences of the held-out partition. Every night is scored through the
production code (classify, history, risk, slips, stored in a real database). At the end of every
week staff correct 2% of the week's calls (the ones flagged for review first), the week's 12398
complaints are imported as the regulator forwards them (``complaints outcomes import``), and the
retrain reads the store: the classifier with the site's labels, weighted, gated on dev and on the
site's newest labels; the risk model with the stored calls whose outcome is known. A frozen arm
scores the same site with the week-0 models all along.

Per week: macro-F1 on that week's calls (90% bootstrap interval) and escalation recall (problems
reaching 12398 that week with a slip before the complaint), loop vs frozen; printed and plotted.

    .venv/bin/python benchmarks/learning_loop.py [--weeks 8] [--scale 0.3] [--kind baseline]
        [--workdir /tmp/learning-loop] [--out docs/img/learning_loop.png] [--no-risk]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TRAIN_WRITERS = frozenset({"w1", "w2", "w4", "w5"})
SITE_WRITERS = frozenset({"w3", "w6"})
START = date(2026, 6, 1)


@dataclass
class Week:
    """One arm's figures for one week."""

    week: int
    calls: int
    macro_f1: tuple[float, float, float]
    unseen_f1: tuple[float, float, float]
    unseen: int
    escalations: int
    caught: int
    slips: int
    labels: int = 0
    promoted: str = ""

    @property
    def recall(self) -> float:
        return self.caught / self.escalations if self.escalations else float("nan")


def _environment(workdir: Path) -> None:
    """A private product home: database, MLflow registry and secret of this benchmark only."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["COMPLAINTS_HOME"] = str(workdir / "home")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlflow.db'}"
    os.environ.setdefault("COMPLAINTS_CUSTOMER_SECRET", "learning-loop-benchmark-" + os.urandom(8).hex())


def _night_truth(night_dir: Path) -> pd.DataFrame:
    calls = pd.read_csv(night_dir / "calls.csv", dtype=str, keep_default_na=False)
    labels = pd.read_csv(night_dir / "labels.csv", dtype=str, keep_default_na=False)
    return calls.merge(labels, on="call_id")


def _rescore_time(night: date) -> datetime:
    from pipeline.records import SHANGHAI

    return datetime.combine(night + timedelta(days=1), datetime.min.time(), SHANGHAI).replace(hour=2)


def _score_night(engine, night_dir: Path, classifier, risk_model) -> None:
    from pipeline import scoring
    from pipeline.ingest import read_export

    night = date.fromisoformat(night_dir.name)
    records = read_export(night_dir / "calls.csv").records
    classified = scoring.prepare_risk_text(scoring.classify_records(records, classifier))
    scoring.assess_and_store(engine, classified, risk_model, night, now=_rescore_time(night))


SHINGLE = 10


def _shingles(text: str) -> set[str]:
    """The customer's words cut into overlapping 10-character pieces (a sentence a writer wrote survives
    the simulator's perturbations in most of them)."""
    words = "".join(line[3:] for line in str(text).splitlines() if line.startswith("客户：")) or str(text)
    return {words[i : i + SHINGLE] for i in range(max(0, len(words) - SHINGLE + 1))}


def _correct(
    engine, truth: dict[str, str], call_ids: list[str], share: float, rng: random.Random, at
) -> list[str]:
    """Staff correct ``share`` of the week's calls, those flagged for review first; returns their ids."""
    from sqlalchemy import select

    from pipeline.corrections import correct_category
    from pipeline.storage import session_factory
    from pipeline.storage.models import Call

    budget = max(1, round(len(call_ids) * share))
    with session_factory(engine).begin() as session:
        calls = list(session.scalars(select(Call).where(Call.call_id.in_(call_ids))))
        flagged = [c for c in calls if c.needs_review]
        rest = [c for c in calls if not c.needs_review]
        rng.shuffle(flagged)
        rng.shuffle(rest)
        chosen = (flagged + rest)[:budget]
        for call in chosen:
            correct_category(session, call, truth[call.call_id], "质检员", now=at)
    return [c.call_id for c in chosen]


def _outcomes_file(rows: pd.DataFrame, path: Path) -> Path:
    """The regulator's forwarded complaints for problems that escalated: one row each, in its columns."""
    from pipeline.outcomes import COLUMNS

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for problem, group in rows.groupby("problem_id"):
            last = group.sort_values("call_time").iloc[-1]
            words = [line[3:] for line in str(last["transcript"]).splitlines() if line.startswith("客户：")]
            text = "客户反映" + ("".join(words)[:120] or "问题未解决")
            writer.writerow(
                [
                    f"12398-{problem}",
                    last["escalated_at"],
                    last["customer_id"],
                    last["phone"],
                    last["unit"],
                    text,
                ]
            )
    return path


def _import_outcomes(engine, path: Path, at) -> None:
    from pipeline.outcomes import import_outcomes
    from pipeline.storage import session_factory

    with session_factory(engine).begin() as session:
        import_outcomes(session, path, now=at)


def _week_figures(engine, week: int, frame: pd.DataFrame, reps: int, labelled: set[str]) -> Week:
    """Macro-F1 of the stored categories and escalation recall on one week's site calls.

    The site's writers wrote a finite bank, so a sentence staff labelled can come back in a later
    call; macro-F1 is also given on the calls that share no 10-character piece with any labelled
    call (``labelled``: their shingles), which is what a site with unbounded language would see."""
    from sqlalchemy import select

    from models.gate import macro_f1_interval
    from pipeline.storage import session_factory
    from pipeline.storage.models import Call, Slip, SlipCall

    ids = frame["call_id"].tolist()
    with session_factory(engine)() as session:
        stored = {
            c.call_id: (c.id, c.category, c.slip_id)
            for c in session.scalars(select(Call).where(Call.call_id.in_(ids)))
        }
        slip_of: dict[int, set[int]] = defaultdict(set)
        for slip_id, call_pk in session.execute(select(SlipCall.slip_id, SlipCall.call_id)):
            slip_of[call_pk].add(slip_id)
        created = dict(session.execute(select(Slip.id, Slip.created_at)).all())
    frame = frame[frame["call_id"].isin(stored)]
    ids = frame["call_id"].tolist()
    truth = frame["category"].tolist()
    predicted = [stored[c][1] for c in ids]
    f1 = macro_f1_interval(truth, predicted, n_boot=reps)
    fresh = [not (_shingles(t) & labelled) for t in frame["transcript"]]
    unseen = macro_f1_interval(
        [t for t, f in zip(truth, fresh, strict=True) if f],
        [p for p, f in zip(predicted, fresh, strict=True) if f],
        n_boot=reps,
    )
    escalations = caught = 0
    for _, group in frame[frame["escalated_at"] != ""].groupby("problem_id"):
        at = pd.Timestamp(group["escalated_at"].iloc[0])
        before = group[pd.to_datetime(group["call_time"], utc=True) < at.tz_convert("UTC")]
        if before.empty:
            continue
        escalations += 1
        slips = set()
        for call_id in before["call_id"]:
            pk, _, slip_id = stored[call_id]
            slips |= slip_of.get(pk, set()) | ({slip_id} if slip_id else set())
        caught += any(pd.Timestamp(created[s]) < at for s in slips)
    week_slips = len({stored[c][2] for c in ids if stored[c][2]})
    return Week(
        week,
        len(ids),
        (f1.value, f1.low, f1.high),
        (unseen.value, unseen.low, unseen.high),
        sum(fresh),
        escalations,
        caught,
        week_slips,
    )


def _plot(loop: list[Week], frozen: list[Week], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline.report import cjk_font

    font = cjk_font()
    if font:
        plt.rcParams.update({"font.sans-serif": [font, "DejaVu Sans"], "axes.unicode_minus": False})
    zh = bool(font)
    weeks = [w.week for w in loop]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for arm, name, color in (
        (loop, "学习闭环" if zh else "loop", "#1f77b4"),
        (frozen, "不重训" if zh else "frozen", "#9e9e9e"),
    ):
        ax1.plot(weeks, [w.macro_f1[0] for w in arm], marker="o", color=color, label=name)
        ax1.plot(
            weeks,
            [w.unseen_f1[0] for w in arm],
            linestyle="--",
            color=color,
            label=("无重句来电 " if zh else "unseen-text calls ") + name,
        )
        ax1.fill_between(
            weeks, [w.macro_f1[1] for w in arm], [w.macro_f1[2] for w in arm], color=color, alpha=0.15
        )
        ax2.plot(weeks, [w.recall for w in arm], marker="o", color=color, label=name)
    ax1.set_title("现场来电宏F1（阴影：90%区间）" if zh else "site macro-F1 (shade: 90% interval)")
    ax2.set_title("12398 升级前已发预警单的比例" if zh else "escalations with a slip before 12398")
    ax2.set_ylim(0, 1)
    for ax in (ax1, ax2):
        ax.set_xticks(weeks)
        ax.set_xlabel("周" if zh else "week")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--train-days", type=int, default=20)
    parser.add_argument("--kind", default="baseline", choices=["baseline", "transformer", "ensemble"])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--correct-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--risk", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/learning-loop"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "learning_loop.png")
    args = parser.parse_args()

    import shutil

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    _environment(args.workdir)
    from tqdm import tqdm

    from models.registry import configure_mlflow, load_classifier
    from models.risk.model import load_risk_model
    from models.risk.train import MIN_TRAINING_NIGHTS
    from models.risk_model import train_and_register
    from models.training import train_classifier
    from pipeline.simulator import simulate
    from pipeline.storage import upgrade

    configure_mlflow()
    started = time.perf_counter()
    train_dir, risk_dir, site_dir = args.workdir / "train", args.workdir / "risk", args.workdir / "site"
    simulate(train_dir, days=args.train_days, seed=1, scale=0.5, writers=TRAIN_WRITERS)
    simulate(risk_dir, days=MIN_TRAINING_NIGHTS, seed=11, scale=0.3, writers=TRAIN_WRITERS)
    days = 7 * args.weeks
    simulate(site_dir, days=days, seed=args.seed, scale=args.scale, holdout=True, writers=SITE_WRITERS)
    print(
        f"训练语言: 写手 {sorted(TRAIN_WRITERS)}（训练分区）；现场语言: 写手 {sorted(SITE_WRITERS)}（留出分区）"
    )

    first = train_classifier(args.kind, train_dir, preset=args.preset)
    train_and_register(risk_dir, days=MIN_TRAINING_NIGHTS, progress=False, min_nights=MIN_TRAINING_NIGHTS)
    frozen_classifier = load_classifier(model_uri=first.model_uri)
    frozen_risk = load_risk_model()
    engines = {
        "loop": upgrade(f"sqlite:///{args.workdir / 'loop.db'}"),
        "frozen": upgrade(f"sqlite:///{args.workdir / 'frozen.db'}"),
    }
    models = {"loop": (frozen_classifier, frozen_risk), "frozen": (frozen_classifier, frozen_risk)}
    rng = random.Random(args.seed)
    labelled: set[str] = set()
    weeks_so_far: list[pd.DataFrame] = []
    results: dict[str, list[Week]] = {"loop": [], "frozen": []}
    nights = sorted(p for p in site_dir.iterdir() if p.is_dir())
    for week in tqdm(range(args.weeks), desc="周", unit="周"):
        week_nights = nights[7 * week : 7 * week + 7]
        frame = pd.concat([_night_truth(n) for n in week_nights], ignore_index=True)
        for arm, engine in engines.items():
            classifier, risk = models[arm]
            for night_dir in week_nights:
                _score_night(engine, night_dir, classifier, risk)
            results[arm].append(_week_figures(engine, week + 1, frame, args.reps, labelled))
        week_end = _rescore_time(date.fromisoformat(week_nights[-1].name))
        loop = engines["loop"]
        truth = dict(zip(frame["call_id"], frame["category"], strict=True))
        corrected = _correct(loop, truth, frame["call_id"].tolist(), args.correct_share, rng, week_end)
        results["loop"][-1].labels = len(corrected)
        texts = dict(zip(frame["call_id"], frame["transcript"], strict=True))
        for call_id in corrected:
            labelled |= _shingles(texts[call_id])
        weeks_so_far.append(frame)
        site_so_far = pd.concat(weeks_so_far, ignore_index=True)
        escalated = site_so_far[(site_so_far["escalated_at"] != "")]
        escalated = escalated[
            pd.to_datetime(escalated["escalated_at"], utc=True) <= pd.Timestamp(week_end).tz_convert("UTC")
        ]
        if len(escalated):
            _import_outcomes(
                loop, _outcomes_file(escalated, args.workdir / f"12398-week{week + 1}.csv"), week_end
            )
        if week == args.weeks - 1:
            break
        url = str(loop.url)
        outcome = train_classifier(args.kind, train_dir, preset=args.preset, site_db=url)
        results["loop"][-1].promoted = "是" if outcome.gate and outcome.gate.promoted else "否"
        if args.risk:
            train_and_register(
                risk_dir,
                days=MIN_TRAINING_NIGHTS,
                progress=False,
                min_nights=MIN_TRAINING_NIGHTS,
                site_db=url,
            )
        models["loop"] = (load_classifier(), load_risk_model())

    print()
    print(
        "| 周 | 来电 | 闭环 宏F1 [90%] | 不重训 宏F1 [90%] | 与已标注无重句的来电 | 闭环 宏F1 | 不重训 宏F1 "
        "| 升级 | 闭环 预警在前 | 不重训 预警在前 | 当周更正 | 周末候选晋升 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")

    def cell(f: tuple[float, float, float]) -> str:
        return f"{f[0]:.3f} [{f[1]:.3f}, {f[2]:.3f}]"

    for lw, fw in zip(results["loop"], results["frozen"], strict=True):
        print(
            f"| {lw.week} | {lw.calls} | {cell(lw.macro_f1)} | {cell(fw.macro_f1)} | {lw.unseen} "
            f"| {cell(lw.unseen_f1)} | {cell(fw.unseen_f1)} | {lw.escalations} | {lw.recall:.0%} ({lw.caught}) "
            f"| {fw.recall:.0%} ({fw.caught}) | {lw.labels} | {lw.promoted or '-'} |"
        )
    print(
        f"\n图: {_plot(results['loop'], results['frozen'], args.out)}；用时 {time.perf_counter() - started:.0f} 秒"
    )
    for engine in engines.values():
        engine.dispose()


if __name__ == "__main__":
    main()
