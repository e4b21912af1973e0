"""Run the world for N days and write one export per night: the ``simulate`` entry point."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from pipeline.config import section
from pipeline.labels import LABELS
from pipeline.records import SHANGHAI
from pipeline.simulator.escalation import CallPlan, EscalationWeights
from pipeline.simulator.events import EventGenerator, EventRates
from pipeline.simulator.render import Renderer
from pipeline.simulator.world import build_world
from pipeline.simulator.writer import CallRow, write_night

DEFAULT_START = date(2026, 6, 1)
# Days simulated before the first written night, so night one already has repeat callers.
WARMUP_DAYS = 5
MAX_DAYS = 366
T = TypeVar("T")


class SimulationError(ValueError):
    """Arguments the simulator cannot run with; the message is shown to the user as is."""


@dataclass
class SimulationSummary:
    """What a run wrote, for the CLI and for callers that feed training."""

    out_dir: Path
    seed: int
    split: str
    nights: list[str]
    calls: int
    calls_per_night: list[int]
    problems: int
    escalated_problems: int
    escalated_calls: int
    label_counts: dict[str, int] = field(default_factory=dict)

    @property
    def escalation_rate(self) -> float:
        """Share of problems (with a call in the window) that reached 12398."""
        return self.escalated_problems / self.problems if self.problems else 0.0


def _validate(out_dir: Path, days: int, scale: float) -> None:
    if days < 1 or days > MAX_DAYS:
        raise SimulationError(f"天数必须在 1 到 {MAX_DAYS} 之间，收到 {days}")
    if not 0.01 <= scale <= 20:
        raise SimulationError(f"规模系数必须在 0.01 到 20 之间，收到 {scale}")
    if out_dir.exists() and not out_dir.is_dir():
        raise SimulationError(f"输出路径已存在且不是目录: {out_dir}")


def _configured(default: T, table: str) -> T:
    """``default`` with overrides from ``[simulator.<table>]`` of complaints.toml."""
    values = section("simulator").get(table, {})
    names = {f.name for f in fields(default)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise SimulationError(f"配置 [simulator.{table}] 中有未知参数: {', '.join(unknown)}")
    try:
        return replace(default, **{k: float(v) for k, v in values.items()})  # type: ignore[type-var]
    except (TypeError, ValueError) as exc:
        raise SimulationError(f"配置 [simulator.{table}] 的取值必须是数字: {exc}") from None


def _mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 and phone.isdigit() else phone


def _second(t: datetime | None) -> datetime | None:
    return t.replace(microsecond=0) if t is not None else None


def _world_truth(plan: CallPlan) -> dict[str, Any]:
    """The commitment, callback and escalation trigger of the call's problem, for labels.csv."""
    p = plan.problem
    promised = p.intent.commitment != "none"
    return {
        "commitment": p.intent.commitment if promised else "",
        "commitment_due": _second(p.deadline) if promised else None,
        "commitment_kept": p.commitment_kept,
        "missed_at_call": plan.missed,
        "callback_at": _second(p.callback_at),
        "callback_result": p.callback_result or "",
        "escalation_trigger": p.escalation_trigger or "",
    }


def simulate(
    out_dir: Path | str,
    days: int,
    seed: int,
    start: date = DEFAULT_START,
    scale: float = 1.0,
    holdout: bool = False,
    progress: bool = False,
    writers: frozenset[str] | None = None,
) -> SimulationSummary:
    """Simulate ``days`` nights from ``start`` into ``out_dir``; same arguments, same bytes.

    ``writers`` limits whole-written language to those writers' items (``data/simbank``), so a
    benchmark can train on some writers and meet a site that speaks like the others."""
    out_dir = Path(out_dir)
    _validate(out_dir, days, scale)
    weights = _configured(EscalationWeights(), "escalation")
    rates = _configured(EventRates(), "events")
    out_dir.mkdir(parents=True, exist_ok=True)
    split = "holdout" if holdout else "train"
    world_rng = random.Random(f"{seed}:world")
    world = build_world(world_rng, scale)
    generator = EventGenerator(world, random.Random(f"{seed}:events"), scale, weights, rates)
    first = datetime.combine(start, time(0), SHANGHAI)
    end = first + timedelta(days=days)
    by_night: dict[date, list[CallPlan]] = {start + timedelta(days=i): [] for i in range(days)}
    problems = set()
    escalated = set()
    for offset in range(-WARMUP_DAYS, days):
        for problem in generator.day(start + timedelta(days=offset)):
            for plan in problem.calls:
                if first <= plan.time < end:
                    by_night[plan.time.date()].append(plan)
                    problems.add(problem.problem_id)
                    if problem.escalated_at is not None:
                        escalated.add(problem.problem_id)
    renderer = Renderer(split, writers)
    render_rng = random.Random(f"{seed}:{split}:render")
    masked_units = {u.spec.name for i, u in enumerate(world.units) if i % 3 == 0}
    labels: Counter[str] = Counter()
    per_night: list[int] = []
    escalated_calls = 0
    nights = sorted(by_night)
    for night in tqdm(nights, desc="模拟", unit="夜", disable=not progress):
        plans = sorted(by_night[night], key=lambda c: (c.time, c.problem.problem_id, c.index))
        rows = []
        for seq, plan in enumerate(plans, start=1):
            p = plan.problem
            out = renderer.render(plan, render_rng)
            cust = p.customer
            unit = p.area.unit.spec.name
            shows_account = out.gave_account or render_rng.random() < (
                0.85 if plan.channel != "phone" else 0.2
            )
            rows.append(
                CallRow(
                    call_id=f"GD{night:%Y%m%d}{seq:05d}",
                    call_time=plan.time.replace(microsecond=0),
                    customer_id=cust.account if shows_account else "",
                    phone=_mask_phone(cust.phone) if unit in masked_units else cust.phone,
                    unit=unit,
                    area=p.area.name if render_rng.random() < 0.92 else "",
                    channel=plan.channel,
                    duration_s=out.duration_s,
                    transcript=out.transcript,
                    category=p.intent.label,
                    escalated_at=p.escalated_at.replace(microsecond=0) if p.escalated_at else None,
                    problem_id=p.problem_id,
                    event_id=p.event_id,
                    customer_key=cust.key,
                    phrasing_split=split,
                    **_world_truth(plan),
                )
            )
            labels[p.intent.label] += 1
            escalated_calls += p.escalated_at is not None
        per_night.append(write_night(out_dir / night.isoformat(), rows))
    return SimulationSummary(
        out_dir=out_dir,
        seed=seed,
        split=split,
        nights=[n.isoformat() for n in nights],
        calls=sum(per_night),
        calls_per_night=per_night,
        problems=len(problems),
        escalated_problems=len(escalated),
        escalated_calls=escalated_calls,
        label_counts={lab: labels.get(lab, 0) for lab in LABELS},
    )
