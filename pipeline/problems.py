"""Calls grouped into problems: one customer, one matter, one place, within the horizon.

A slip, a repeat count and the third-call rule are about a *problem*, not a
(customer, predicted label) pair: when the classifier calls the second call
about a blackout "voltage", the customer has still called twice about one
problem. So a call joins a customer's open problem when

- the time since that problem's last call is within ``window`` (the horizon),
- the places agree (same area, or one side has no area), and
- the categories agree *in probability*: ``Σ_c p_call(c) · p_problem(c)`` is at
  least ``min_agreement``, where ``p_problem`` is the mean of its calls'
  probabilities, so one misclassified call neither splits the problem nor flips
  its category.

Among several open problems that fit, the best agreement wins. Text signals
are carried forward on the problem (a threat two nights ago still counts).
Pure: the caller keeps the open problems between nights (store or replay).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.labels import LABELS

DEFAULT_WINDOW = timedelta(days=30)
MIN_AGREEMENT = 0.15


@dataclass(frozen=True)
class ProblemCall:
    """What grouping needs to know about one classified call."""

    call_id: str
    call_time: datetime
    customer_id: str
    area: str | None
    probabilities: Mapping[str, float]
    flags: Mapping[str, int] = field(default_factory=dict)


@dataclass
class Problem:
    """One customer's problem: its calls, the summed category probabilities and the signals seen on it."""

    problem_id: str
    customer_id: str
    area: str | None
    first_call: datetime
    last_call: datetime
    call_ids: list[str] = field(default_factory=list)
    probability_sum: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LABELS, 0.0))
    signals: dict[str, datetime] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return len(self.call_ids)

    def distribution(self) -> dict[str, float]:
        """Mean category probabilities over the problem's calls."""
        n = max(1, self.calls)
        return {label: value / n for label, value in self.probability_sum.items()}

    @property
    def category(self) -> str:
        """The problem's category: the largest summed probability (ties in label order)."""
        return max(LABELS, key=lambda label: (self.probability_sum.get(label, 0.0), -LABELS.index(label)))

    def carried(self, now: datetime, memory: timedelta = DEFAULT_WINDOW) -> dict[str, datetime]:
        """Signals seen on this problem within ``memory`` before ``now`` (flag -> last time seen)."""
        return {flag: when for flag, when in self.signals.items() if when <= now and now - when <= memory}

    def is_open(self, now: datetime, window: timedelta = DEFAULT_WINDOW) -> bool:
        return now - self.last_call <= window

    def add(self, call: ProblemCall) -> None:
        self.call_ids.append(call.call_id)
        self.last_call = max(self.last_call, call.call_time)
        self.first_call = min(self.first_call, call.call_time)
        for label in LABELS:
            self.probability_sum[label] = self.probability_sum.get(label, 0.0) + float(
                call.probabilities.get(label, 0.0)
            )
        if self.area is None and call.area:
            self.area = call.area
        for flag, value in call.flags.items():
            if value:
                previous = self.signals.get(flag)
                self.signals[flag] = call.call_time if previous is None else max(previous, call.call_time)


def agreement(probabilities: Mapping[str, float], problem: Problem) -> float:
    """Chance that the call and the problem are about the same category, from both distributions."""
    dist = problem.distribution()
    return sum(float(probabilities.get(label, 0.0)) * dist[label] for label in LABELS)


def _places_agree(area: str | None, problem: Problem) -> bool:
    return area is None or problem.area is None or area == problem.area


def assign(
    call: ProblemCall,
    open_problems: Sequence[Problem],
    *,
    window: timedelta = DEFAULT_WINDOW,
    min_agreement: float = MIN_AGREEMENT,
) -> Problem | None:
    """The open problem of the same customer this call belongs to, or None for a new problem."""
    best: tuple[float, datetime, Problem] | None = None
    for problem in open_problems:
        if problem.customer_id != call.customer_id:
            continue
        if problem.first_call - call.call_time > window or call.call_time - problem.last_call > window:
            continue
        if not _places_agree(call.area, problem):
            continue
        score = agreement(call.probabilities, problem)
        if score < min_agreement:
            continue
        if best is None or (score, problem.last_call) > (best[0], best[1]):
            best = (score, problem.last_call, problem)
    return best[2] if best else None


def group_calls(
    calls: Iterable[ProblemCall],
    known: Iterable[Problem] = (),
    *,
    window: timedelta = DEFAULT_WINDOW,
    min_agreement: float = MIN_AGREEMENT,
) -> tuple[dict[str, str], dict[str, Problem]]:
    """Problem id per call, in time order, continuing ``known`` problems; returns (call -> problem, problems).

    A new problem's id is its first call's id, so ids never change between nights.
    """
    problems: dict[str, Problem] = {p.problem_id: p for p in known}
    by_customer: dict[str, list[Problem]] = {}
    for problem in problems.values():
        by_customer.setdefault(problem.customer_id, []).append(problem)
    problem_of: dict[str, str] = {}
    for call in sorted(calls, key=lambda c: (c.call_time, c.call_id)):
        if call.call_id in problem_of:
            continue
        found = next((p for p in by_customer.get(call.customer_id, []) if call.call_id in p.call_ids), None)
        if found is None:
            found = assign(
                call, by_customer.get(call.customer_id, []), window=window, min_agreement=min_agreement
            )
            if found is None:
                found = Problem(call.call_id, call.customer_id, call.area, call.call_time, call.call_time)
                problems[found.problem_id] = found
                by_customer.setdefault(call.customer_id, []).append(found)
            found.add(call)
        problem_of[call.call_id] = found.problem_id
    return problem_of, problems


def open_problems(
    problems: Iterable[Problem], now: datetime, window: timedelta = DEFAULT_WINDOW
) -> list[Problem]:
    """Problems still open at ``now`` (a call within the window): every one of them is re-scored tonight."""
    return sorted((p for p in problems if p.is_open(now, window)), key=lambda p: (p.last_call, p.problem_id))
