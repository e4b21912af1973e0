"""Events in the world, day by day, and the customer problems each one causes.

An event is anything that makes people call: an area outage (many callers the same
evening, some with appliances burnt when power returns), a planned outage without
notice or running over, a storm, chronic low voltage in a 台区 (callers over weeks),
a meter-change campaign (billing disputes afterwards), an arrears-disconnection round,
or a single household's own problem (background). Each problem is then played
forward by ``escalation.play``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pipeline.records import SHANGHAI
from pipeline.simulator.escalation import EscalationWeights, Problem, play
from pipeline.simulator.intents import BY_KEY, INTENTS, Intent
from pipeline.simulator.world import Area, Unit, World
from pipeline.workdays import working_days_after

# Share of background problems starting in each hour of the day (people call when awake and home).
HOUR_WEIGHTS = (
    0.3, 0.2, 0.15, 0.1, 0.1, 0.3, 0.8, 2.0, 4.5, 6.5, 6.8, 6.0,
    4.5, 4.2, 5.5, 6.0, 5.8, 5.5, 5.6, 6.0, 5.8, 4.2, 2.4, 1.0,
)  # fmt: skip


@dataclass(frozen=True)
class EventRates:
    """Expected events per unit and day (scaled by the unit's size and ``scale``)."""

    background: float = 760.0  # background problems per day at scale 1, all units together
    area_outage: float = 0.11
    planned: float = 0.10
    storm: float = 0.03
    low_voltage: float = 0.14
    meter_change: float = 0.08
    arrears_round: float = 0.08


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class EventGenerator:
    """Creates events and problems day by day; ids are sequential, so runs are reproducible."""

    def __init__(
        self,
        world: World,
        rng: random.Random,
        scale: float,
        weights: EscalationWeights,
        rates: EventRates | None = None,
    ) -> None:
        self.world = world
        self.rng = rng
        self.scale = scale
        self.weights = weights
        self.rates = rates or EventRates()
        self._event_seq = 0
        self._problem_seq = 0
        self._intents = list(INTENTS)
        self._intent_w = [i.weight for i in INTENTS]
        total = sum(world.unit_weights)
        self._unit_share = [w / total for w in world.unit_weights]

    def _event_id(self) -> str:
        self._event_seq += 1
        return f"E{self._event_seq:07d}"

    def _at(self, day: date, hour_weights: tuple[float, ...] = HOUR_WEIGHTS) -> datetime:
        hour = self.rng.choices(range(24), weights=hour_weights)[0]
        return datetime.combine(day, time(hour, self.rng.randrange(60), self.rng.randrange(60)), SHANGHAI)

    def _problem(
        self,
        event_id: str,
        intent: Intent,
        area: Area,
        start: datetime,
        resolve_at: datetime | None = None,
        deadline: datetime | None = None,
        end_at: datetime | None = None,
        wide: bool = False,
        after_restore: bool = False,
    ) -> Problem:
        rng = self.rng
        business = intent.business or (
            intent.key in ("capacity", "suspend", "outage_losses") and rng.random() < 0.5
        )
        customer = self.world.pick_customer(rng, area, business)
        promise_h = {"village": 1.5, "estate": 0.75, "street": 0.75}[area.kind]
        if area.kind == "village" and area.unit.spec.rural > 0.75 and rng.random() < 0.5:
            promise_h = 2.0
        if resolve_at is None:
            resolve_at = start + timedelta(hours=intent.resolve_h * math.exp(rng.gauss(0.0, 0.8)))
        if deadline is None:
            if intent.commitment == "crew":
                # The crew is late in about a third of cases; the fix then runs past the promise.
                deadline = start + timedelta(hours=promise_h + rng.uniform(0.0, 2.5))
            elif intent.commitment == "wd":
                deadline = working_days_after(start, intent.commit_days)
            elif intent.commitment == "reconnect":
                deadline = start + timedelta(hours=24)
            elif intent.commitment == "restore":
                deadline = end_at or start + timedelta(hours=rng.uniform(2, 6))
        vulnerable = customer.elderly and rng.random() < 0.4 or rng.random() < 0.06
        self._problem_seq += 1
        problem = Problem(
            problem_id=f"P{self._problem_seq:07d}",
            event_id=event_id,
            intent=intent,
            customer=customer,
            area=area,
            start=start,
            resolve_at=resolve_at,
            deadline=deadline,
            promise_h=promise_h,
            end_at=end_at,
            wide=wide,
            vulnerable=vulnerable,
            after_restore=after_restore,
        )
        play(problem, rng, self.weights)
        return problem

    def day(self, day: date) -> list[Problem]:
        """Every problem that starts on ``day``."""
        problems: list[Problem] = []
        rng = self.rng
        for unit, share in zip(self.world.units, self._unit_share, strict=True):
            size = share * len(self.world.units) * self.scale
            for _ in range(_poisson(rng, self.rates.background * share * self.scale)):
                intent = rng.choices(self._intents, weights=self._intent_w)[0]
                area = rng.choices(unit.areas, weights=unit.weights)[0]
                problems.append(self._problem(self._event_id(), intent, area, self._at(day)))
            storm = rng.random() < self.rates.storm * size * (2.0 if day.month in (6, 7, 8) else 1.0)
            n_out = _poisson(rng, self.rates.area_outage * size) + (rng.randint(2, 4) if storm else 0)
            for _ in range(n_out):
                problems += self._area_outage(unit, day, storm)
            for _ in range(_poisson(rng, self.rates.planned * size)):
                problems += self._planned(unit, day)
            for _ in range(_poisson(rng, self.rates.low_voltage * size)):
                problems += self._low_voltage(unit, day)
            for _ in range(_poisson(rng, self.rates.meter_change * size)):
                problems += self._meter_change(unit, day)
            for _ in range(_poisson(rng, self.rates.arrears_round * size)):
                problems += self._arrears_round(unit, day)
        return problems

    def _area_outage(self, unit: Unit, day: date, storm: bool) -> list[Problem]:
        rng = self.rng
        area = rng.choices(unit.areas, weights=unit.weights)[0]
        event_id = self._event_id()
        evening = (0.2,) * 6 + (0.5,) * 6 + (1.0,) * 5 + (3.0,) * 5 + (1.0,) * 2
        start = self._at(day, evening)
        restore = start + timedelta(hours=3.0 * math.exp(rng.gauss(0.0, 0.7)))
        callers = max(2, min(35, round(area.households * rng.uniform(0.005, 0.022) * min(1.5, self.scale))))
        out: list[Problem] = []
        for _ in range(callers):
            t = start + timedelta(minutes=rng.expovariate(1 / 25))
            if t >= restore:
                continue
            key = rng.choices(("area_out", "home_no_power", "restore", "outage_losses", "line_down"),
                              weights=(5, 2.5, 1.2, 0.5, 2.0 if storm else 0.2))[0]  # fmt: skip
            out.append(self._problem(event_id, BY_KEY[key], area, t, resolve_at=restore, wide=True))
        # Appliances burnt by the surge when supply came back: a voltage problem of the same event.
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 4)):
                t = restore + timedelta(minutes=rng.uniform(5, 600))
                out.append(self._problem(event_id, BY_KEY["burnt"], area, t, after_restore=True))
        return out

    def _planned(self, unit: Unit, day: date) -> list[Problem]:
        rng = self.rng
        area = rng.choices(unit.areas, weights=unit.weights)[0]
        event_id = self._event_id()
        start = datetime.combine(day, time(rng.choice((7, 8, 9)), rng.choice((0, 30))), SHANGHAI)
        end_at = start + timedelta(hours=rng.choice((4, 6, 8, 10)))
        overrun = rng.random() < 0.4
        restore = end_at + (
            timedelta(hours=rng.uniform(0.5, 4)) if overrun else -timedelta(minutes=rng.uniform(0, 60))
        )
        no_notice = rng.random() < 0.5
        callers = rng.randint(2, 12) + (rng.randint(3, 15) if no_notice else 0)
        out: list[Problem] = []
        for _ in range(max(1, round(callers * min(1.5, self.scale)))):
            if overrun and rng.random() < 0.5:
                t = end_at + timedelta(minutes=rng.uniform(10, 200))
            else:
                t = start + timedelta(minutes=rng.expovariate(1 / 60))
            if t >= restore:
                continue
            key = rng.choices(("planned", "restore", "home_no_power"), weights=(5, 3, 1))[0]
            out.append(
                self._problem(
                    event_id,
                    BY_KEY[key],
                    area,
                    t,
                    resolve_at=restore,
                    end_at=end_at,
                    deadline=end_at,
                    wide=True,
                )
            )
        return out

    def _low_voltage(self, unit: Unit, day: date) -> list[Problem]:
        rng = self.rng
        area = rng.choices(unit.areas, weights=unit.weights)[0]
        event_id = self._event_id()
        lasting = rng.randint(5, 30)
        fixed_at = datetime.combine(day + timedelta(days=lasting), time(17), SHANGHAI)
        out: list[Problem] = []
        dinner = (0.1,) * 7 + (0.5,) * 10 + (3.0,) * 5 + (0.5,) * 2
        for _ in range(rng.randint(3, 14)):
            d = day + timedelta(days=int(rng.expovariate(1 / max(1.0, lasting / 3))) % lasting)
            key = rng.choices(
                ("low_voltage", "no_start", "flicker", "fluct", "three_phase"), weights=(6, 3, 1.5, 1, 0.7)
            )[0]
            out.append(self._problem(event_id, BY_KEY[key], area, self._at(d, dinner), resolve_at=fixed_at))
        if rng.random() < 0.3:
            d = day + timedelta(days=lasting + rng.randint(3, 12))
            out.append(self._problem(event_id, BY_KEY["lv_back"], area, self._at(d, dinner)))
        return out

    def _meter_change(self, unit: Unit, day: date) -> list[Problem]:
        rng = self.rng
        area = rng.choices(unit.areas, weights=unit.weights)[0]
        event_id = self._event_id()
        out: list[Problem] = []
        for _ in range(rng.randint(3, 12)):
            d = day + timedelta(days=rng.randint(10, 35))
            key = rng.choices(("meter_changed", "bill_high", "meter_fast"), weights=(5, 2, 1))[0]
            out.append(self._problem(event_id, BY_KEY[key], area, self._at(d)))
        return out

    def _arrears_round(self, unit: Unit, day: date) -> list[Problem]:
        rng = self.rng
        area = rng.choices(unit.areas, weights=unit.weights)[0]
        event_id = self._event_id()
        return [
            self._problem(
                event_id, BY_KEY[rng.choice(("arrears", "arrears", "late_fee"))], area, self._at(day)
            )
            for _ in range(rng.randint(2, 8))
        ]
