"""The generative process of one problem: repeat calls, missed commitments, callbacks, 12398.

After every call (and after an unsatisfied callback) the customer may escalate to
12398 with probability ``sigmoid(logit)`` where the logit adds the drivers below;
a per-problem latent term ``u`` stands for what no call reveals, so some quiet
callers escalate and many angry ones never do. Once escalated, the customer stops
calling 95598 about the problem; every call made before ``escalated_at`` is
labelled escalated. Weights are documented in docs/simulator.md.

What the world did is kept on the problem for the labels: the commitment and
its due time, whether it was kept (fixed by then), the callback after the fix
(满意 / 基本满意 / 不满意, when) and whether the 12398 complaint followed a call
or the callback. Draws that only describe (satisfied or basically satisfied)
come from a stream of their own, so calls and escalations stay exactly as
without them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.simulator.intents import Intent
from pipeline.simulator.world import Area, Customer

MAX_CALLS = 7
CALLBACK_RESULTS: tuple[str, ...] = ("满意", "基本满意", "不满意")
# Of the callbacks that are not unsatisfied, the share "basically satisfied": more when the fix was late.
BASIC_SATISFIED = 0.2
BASIC_SATISFIED_LATE = 0.35
# Regulator statistics: outage handling and voltage reach 12398 more often than "other" matters do.
LABEL_BIAS = {"outage": 0.2, "voltage": 0.2, "meter_billing": 0.0, "connection": 0.1, "other": -1.2}
HORIZON = timedelta(days=30)


@dataclass(frozen=True)
class EscalationWeights:
    """Logit weights of the escalation hazard and of threats voiced in calls."""

    base: float = -6.3
    repeat: float = 0.85  # per earlier call about the same problem, up to 3
    missed: float = 1.1  # a commitment already missed at this call
    callback: float = 1.4  # an unsatisfied callback has happened
    wide: float = 0.6  # whole village / building affected
    vulnerable: float = 0.7  # elderly, patients, stock, livestock
    threat: float = 1.3  # the caller threatened 12398 / media / court in this call
    temper: float = 1.2  # times the caller's temper (0..1)
    no_commitment: float = -2.0  # consultations, praise: nothing to miss
    latent_sd: float = 1.0
    threat_base: float = -4.2
    threat_repeat: float = 0.7
    threat_missed: float = 1.0
    threat_callback: float = 1.0
    threat_temper: float = 2.2


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class CallPlan:
    """One call the customer will make, with what the customer knows at that moment."""

    problem: Problem
    time: datetime
    index: int
    missed: bool
    threat: bool
    callback_unsat: bool
    channel: str = "phone"


@dataclass
class Problem:
    """One customer's problem, caused by an event; all its calls share its label."""

    problem_id: str
    event_id: str
    intent: Intent
    customer: Customer
    area: Area
    start: datetime
    resolve_at: datetime
    deadline: datetime | None
    promise_h: float = 1.5
    end_at: datetime | None = None
    wide: bool = False
    vulnerable: bool = False
    after_restore: bool = False
    calls: list[CallPlan] = field(default_factory=list)
    escalated_at: datetime | None = None
    callback_unsat: bool = False
    callback_at: datetime | None = None
    callback_result: str | None = None
    escalation_trigger: str | None = None

    @property
    def commitment_kept(self) -> bool | None:
        """Whether the fix came by the commitment's due time (None when nothing was promised)."""
        if self.deadline is None or self.intent.commitment == "none":
            return None
        return self.resolve_at <= self.deadline


def _lognormal_h(rng: random.Random, median_h: float, sigma: float = 0.7) -> timedelta:
    return timedelta(hours=median_h * math.exp(rng.gauss(0.0, sigma)))


def _channel(rng: random.Random, customer: Customer, previous: str | None) -> str:
    if previous is not None and rng.random() < 0.7:
        return previous
    if customer.elderly:
        return "phone" if rng.random() < 0.97 else "wechat"
    r = rng.random()
    return "phone" if r < 0.84 else "app" if r < 0.91 else "wechat" if r < 0.96 else "web"


def play(problem: Problem, rng: random.Random, w: EscalationWeights) -> None:
    """Fill ``problem.calls`` and ``problem.escalated_at`` by running its life forward."""
    intent = problem.intent
    cust = problem.customer
    u = rng.gauss(0.0, w.latent_sd)
    describe = random.Random(f"{problem.problem_id}:{u!r}")
    fixed = (
        w.wide * problem.wide
        + w.vulnerable * problem.vulnerable
        + w.temper * cust.temper
        + (w.no_commitment if intent.commitment == "none" else 0.0)
        + LABEL_BIAS[intent.label]
        + u
    )
    t = problem.start
    channel: str | None = None
    cb_unsat = False
    callback_done = False
    for k in range(MAX_CALLS):
        missed = problem.deadline is not None and problem.deadline < t < problem.resolve_at
        p_threat = sigmoid(
            w.threat_base
            + w.threat_repeat * min(k, 3)
            + w.threat_missed * missed
            + w.threat_callback * cb_unsat
            + w.threat_temper * cust.temper
        )
        threat = rng.random() < p_threat
        channel = _channel(rng, cust, channel)
        problem.calls.append(CallPlan(problem, t, k, missed, threat, cb_unsat, channel))
        logit = (
            w.base
            + fixed
            + w.repeat * min(k, 3)
            + w.missed * missed
            + w.callback * cb_unsat
            + w.threat * threat
        )
        if rng.random() < sigmoid(logit):
            problem.escalated_at = _escalation_time(rng, problem, t)
            if problem.escalated_at is not None:
                problem.escalation_trigger = "call"
                break
        # Will the customer call again, and when?
        next_t: datetime | None = None
        if t < problem.resolve_at:
            p_again = intent.repeat + 0.25 * missed + 0.25 * cust.temper + 0.1 * problem.vulnerable
            if rng.random() < p_again:
                if problem.deadline is not None and t < problem.deadline and rng.random() < 0.5:
                    next_t = problem.deadline + _lognormal_h(rng, max(0.3, intent.gap_h / 3))
                else:
                    next_t = t + _lognormal_h(rng, intent.gap_h)
                if next_t >= problem.resolve_at:
                    next_t = None
        if next_t is None and not callback_done and intent.commitment != "none":
            callback_done = True
            cb_time = problem.resolve_at + timedelta(hours=rng.uniform(2, 30))
            late = problem.deadline is not None and problem.resolve_at > problem.deadline
            problem.callback_at = cb_time
            if rng.random() < 0.06 + 0.35 * late + 0.15 * cust.temper:
                cb_unsat = problem.callback_unsat = True
                problem.callback_result = "不满意"
                if rng.random() < sigmoid(w.base + fixed + w.callback + w.repeat * min(k, 3)):
                    problem.escalated_at = _escalation_time(rng, problem, cb_time)
                    if problem.escalated_at is not None:
                        problem.escalation_trigger = "callback"
                        break
                if rng.random() < 0.35:
                    next_t = cb_time + _lognormal_h(rng, max(2.0, intent.gap_h))
            else:
                basic = BASIC_SATISFIED_LATE if late else BASIC_SATISFIED
                problem.callback_result = "基本满意" if describe.random() < basic else "满意"
        if next_t is None or next_t - problem.start > HORIZON - timedelta(days=1):
            break
        t = next_t


def _escalation_time(rng: random.Random, problem: Problem, after: datetime) -> datetime | None:
    """Hours to a few days after ``after``; None when that would be over 30 days after the first call."""
    earliest = after + timedelta(minutes=20)
    latest = problem.start + HORIZON - timedelta(hours=1)
    if earliest >= latest:
        return None
    return min(earliest + _lognormal_h(rng, 20.0, 1.0), latest)
