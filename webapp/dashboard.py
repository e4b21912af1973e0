"""Numbers behind the dashboard, computed with GROUP BY queries scoped to the user.

Complaints per million customers needs each unit's customer count. It comes
from the ``[units]`` table of complaints.toml (``"大理供电局" = 850000`` or
``[units."大理供电局"] customers = 850000``). A unit missing there gets no
rate at all: guessing the count from callers overstates the rate by orders of
magnitude, so the page lists those units and says what to configure instead.
The category trend covers every stored night. The 12398 figures count the
forwarded complaints imported with ``complaints outcomes import`` whose
受理时间 falls in this Beijing month; the interview (约谈) list uses the same
``[units]`` customer counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from pipeline.config import section
from pipeline.labels import LABELS
from pipeline.ledger import LEVELS, local_day_start
from pipeline.outcomes import OutcomeConfig, load_outcome_config
from pipeline.records import SHANGHAI
from pipeline.risk.config import load_risk_config
from pipeline.storage.models import Call, Slip, User
from pipeline.storage.outcomes import Outcome12398
from pipeline.storage.types import utcnow
from webapp.access import scope_calls, scope_slips, sees_all_units

RATE_NIGHTS = 30
SLIP_LEVELS: tuple[str, ...] = tuple(lv.value for lv in LEVELS)


def configured_customers() -> dict[str, int]:
    """Customer counts per unit from config; entries that are not positive numbers are ignored."""
    counts: dict[str, int] = {}
    for unit, value in section("units").items():
        if isinstance(value, dict):
            value = value.get("customers")
        if isinstance(value, int | float) and value > 0:
            counts[str(unit)] = int(value)
    return counts


@dataclass
class UnitRate:
    """Calls and slips per million customers for one unit."""

    unit: str
    customers: int
    calls: int
    slips: int

    @property
    def calls_per_million(self) -> float:
        return self.calls * 1_000_000 / self.customers if self.customers else 0.0

    @property
    def slips_per_million(self) -> float:
        return self.slips * 1_000_000 / self.customers if self.customers else 0.0


def open_by_unit_level(session: Session, user: User) -> dict[str, dict[str, int]]:
    """Open slips per unit and level."""
    query = scope_slips(
        select(Slip.unit, Slip.level, func.count()).where(Slip.status != "closed"), user
    ).group_by(Slip.unit, Slip.level)
    table: dict[str, dict[str, int]] = {}
    for unit, level, count in session.execute(query):
        table.setdefault(unit, dict.fromkeys(SLIP_LEVELS, 0))[level] = count
    return dict(sorted(table.items()))


def overdue_by_unit(session: Session, user: User, now: datetime | None = None) -> dict[str, int]:
    """Open slips past their due time, per unit."""
    now = now or utcnow()
    query = scope_slips(
        select(Slip.unit, func.count()).where(Slip.status != "closed", Slip.due_at < now), user
    ).group_by(Slip.unit)
    return dict(sorted(session.execute(query).all()))


def category_trend(session: Session, user: User) -> tuple[list[date], dict[str, list[int]]]:
    """Calls per category for every stored night that has data."""
    query = scope_calls(select(Call.night, Call.category, func.count()), user).group_by(
        Call.night, Call.category
    )
    rows = session.execute(query).all()
    days = sorted({night for night, _, _ in rows})
    index = {d: i for i, d in enumerate(days)}
    series = {label: [0] * len(days) for label in LABELS}
    for night, category, count in rows:
        if category in series:
            series[category][index[night]] = count
    return days, series


@dataclass
class Rates:
    """Per-million rates for the units with a configured customer count, and the units without one."""

    rows: list[UnitRate]
    unconfigured: list[str]
    nights: int = RATE_NIGHTS


def rates_by_unit(session: Session, user: User, nights: int = RATE_NIGHTS) -> Rates:
    """Calls and slips of the last ``nights`` nights per million customers, only where customers are configured."""
    last = session.scalar(scope_calls(select(func.max(Call.night)), user))
    if last is None:
        return Rates([], [], nights)
    first = last - timedelta(days=nights - 1)
    call_rows = session.execute(
        scope_calls(select(Call.unit, func.count()).where(Call.night >= first), user).group_by(Call.unit)
    ).tuples()
    slip_counts: dict[str, Any] = dict(
        session.execute(
            scope_slips(select(Slip.unit, func.count()), user)
            .where(Slip.created_at >= local_day_start(first))
            .group_by(Slip.unit)
        )
        .tuples()
        .all()
    )
    configured = configured_customers()
    rows: list[UnitRate] = []
    missing: list[str] = []
    for unit, calls in call_rows:
        customers = configured.get(unit)
        if customers is None:
            missing.append(unit)
            continue
        rows.append(UnitRate(unit, customers, calls, int(slip_counts.get(unit, 0))))
    return Rates(sorted(rows, key=lambda r: r.unit), sorted(missing), nights)


@dataclass
class OnTime:
    """Closed slips per unit and how many were closed by their due time."""

    unit: str
    closed: int
    on_time: int

    @property
    def share(self) -> float:
        return self.on_time / self.closed if self.closed else 0.0


def closed_on_time(session: Session, user: User) -> list[OnTime]:
    """Share of closed slips that were closed before their due time, per unit."""
    on_time = func.sum(case((Slip.closed_at <= Slip.due_at, 1), else_=0))
    query = scope_slips(
        select(Slip.unit, func.count(), on_time).where(Slip.status == "closed"), user
    ).group_by(Slip.unit)
    return [OnTime(unit, closed, int(ok or 0)) for unit, closed, ok in session.execute(query).tuples()]


@dataclass
class Totals:
    """The headline numbers at the top of the dashboard."""

    open: int
    red_open: int
    overdue: int
    supervised_open: int
    closed: int


def totals(session: Session, user: User, now: datetime | None = None) -> Totals:
    """Headline counts in one query."""
    now = now or utcnow()
    is_open = Slip.status != "closed"
    query = scope_slips(
        select(
            func.sum(case((is_open, 1), else_=0)),
            func.sum(case((is_open & (Slip.level == "red"), 1), else_=0)),
            func.sum(case((is_open & (Slip.due_at < now), 1), else_=0)),
            func.sum(case((is_open & Slip.supervised.is_(True), 1), else_=0)),
            func.sum(case((Slip.status == "closed", 1), else_=0)),
        ),
        user,
    )
    row = session.execute(query).one()
    return Totals(*(int(v or 0) for v in row))


# -- 12398 outcomes, the monthly interview list (约谈), wide incidents -------------------------------


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime, str]:
    """This Beijing month as [start, end) in UTC, and its name (2026年12月)."""
    local = (now or utcnow()).astimezone(SHANGHAI)
    first = local.date().replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_day_start(first), local_day_start(following), f"{first.year}年{first.month}月"


def _scope_outcomes(query: Select[Any], user: User) -> Select[Any]:
    """Outcomes of the units the user may see (a unit user: their own)."""
    if sees_all_units(user):
        return query
    if user.role == "unit" and user.unit:
        return query.where(Outcome12398.unit == user.unit)
    return query.where(Outcome12398.id.is_(None))


@dataclass
class OutcomeMonth:
    """This month's 12398 complaints and whether a slip warned before them."""

    month: str
    total: int
    matched: int
    slip_before: int
    slip_after: int
    hours_before: list[float]

    @property
    def median_hours(self) -> float | None:
        return float(median(self.hours_before)) if self.hours_before else None

    @property
    def share_before(self) -> float:
        return self.slip_before / self.total if self.total else 0.0


def outcomes_month(session: Session, user: User, now: datetime | None = None) -> OutcomeMonth:
    """Of this month's 12398 complaints: how many matched, how many had a slip issued before 受理时间, how long before."""
    start, end, name = month_bounds(now)
    query = _scope_outcomes(
        select(Outcome12398.status, Outcome12398.received_at, Slip.created_at)
        .outerjoin(Slip, Slip.id == Outcome12398.slip_id)
        .where(Outcome12398.received_at >= start, Outcome12398.received_at < end),
        user,
    )
    total = matched = after = 0
    hours: list[float] = []
    for status, received, created in session.execute(query):
        total += 1
        matched += status == "matched"
        if created is None:
            continue
        if created <= received:
            hours.append((received - created).total_seconds() / 3600)
        else:
            after += 1
    return OutcomeMonth(name, total, matched, len(hours), after, sorted(hours))


@dataclass
class InterviewRow:
    """One unit on the monthly interview (约谈) list."""

    unit: str
    complaints: int
    customers: int | None
    count_condition: bool
    rate_condition: bool | None

    @property
    def per_million(self) -> float | None:
        return self.complaints * 1_000_000 / self.customers if self.customers else None

    @property
    def interview(self) -> bool:
        return self.count_condition and bool(self.rate_condition)


@dataclass
class Interview:
    month: str
    rows: list[InterviewRow]
    min_complaints: int
    min_per_million: float


def interview_list(
    session: Session, user: User, now: datetime | None = None, config: OutcomeConfig | None = None
) -> Interview:
    """Units by this month's 12398 complaints and complaints per million customers (``[units]``).

    The practice's two conditions: the count reaches ``interview_min_complaints``
    and the rate reaches ``interview_min_per_million``; a unit meeting both is
    interviewed (约谈). Without a configured customer count the rate is not
    judged (estimating it from callers would overstate it).
    """
    config = config or load_outcome_config()
    start, end, name = month_bounds(now)
    query = _scope_outcomes(
        select(Outcome12398.unit, func.count()).where(
            Outcome12398.received_at >= start, Outcome12398.received_at < end
        ),
        user,
    ).group_by(Outcome12398.unit)
    customers = configured_customers()
    rows = []
    for unit, count in session.execute(query).tuples():
        row = InterviewRow(unit, count, customers.get(unit), count >= config.interview_min_complaints, None)
        if row.per_million is not None:
            row.rate_condition = row.per_million >= config.interview_min_per_million
        rows.append(row)
    rows.sort(key=lambda r: (-r.complaints, -(r.per_million or 0), r.unit))
    return Interview(name, rows, config.interview_min_complaints, config.interview_min_per_million)


@dataclass
class WideIncident:
    """Many customers of one area calling within a few hours of one night: an outage notice is due."""

    night: date
    unit: str
    area: str
    customers: int
    calls: int
    first: datetime
    last: datetime
    category: str


def wide_incidents(session: Session, user: User, night: date | None = None) -> list[WideIncident]:
    """Areas of the latest stored night (or ``night``) where at least ``wide_incident_customers``
    distinct customers called within ``wide_incident_hours`` (the risk rule's own thresholds)."""
    config = load_risk_config()
    night = night or session.scalar(scope_calls(select(func.max(Call.night)), user))
    if night is None:
        return []
    query = scope_calls(
        select(Call.unit, Call.area, Call.customer_key, Call.call_time, Call.category).where(
            Call.night == night, Call.area.is_not(None)
        ),
        user,
    ).order_by(Call.unit, Call.area, Call.call_time)
    by_area: dict[tuple[str, str], list[tuple[datetime, str, str]]] = {}
    for unit, area, customer, at, category in session.execute(query):
        by_area.setdefault((unit, area), []).append((at, customer, category))
    span = timedelta(hours=config.wide_incident_hours)
    found: list[WideIncident] = []
    for (unit, area), calls in by_area.items():
        best: list[tuple[datetime, str, str]] = []
        left = 0
        for right in range(len(calls)):
            while calls[right][0] - calls[left][0] > span:
                left += 1
            window = calls[left : right + 1]
            if len({c[1] for c in window}) > len({c[1] for c in best}):
                best = window
        customers = len({c[1] for c in best})
        if customers >= config.wide_incident_customers:
            category = Counter(c[2] for c in best).most_common(1)[0][0]
            found.append(
                WideIncident(night, unit, area, customers, len(best), best[0][0], best[-1][0], category)
            )
    return sorted(found, key=lambda w: (-w.customers, w.unit, w.area))
