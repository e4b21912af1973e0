"""Numbers behind the dashboard, computed with GROUP BY queries scoped to the user.

Complaints per million customers needs each unit's customer count. It comes
from the ``[units]`` table of complaints.toml (``"大理供电局" = 850000`` or
``[units."大理供电局"] customers = 850000``). A unit missing there gets no
rate at all: guessing the count from callers overstates the rate by orders of
magnitude, so the page lists those units and says what to configure instead.
The category trend covers every stored night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from pipeline.config import section
from pipeline.labels import LABELS
from pipeline.ledger import LEVELS, local_day_start
from pipeline.storage.models import Call, Slip, User
from pipeline.storage.types import utcnow
from webapp.access import scope_calls, scope_slips

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
    return dict(sorted(session.execute(query).tuples().all()))


def category_trend(session: Session, user: User) -> tuple[list[date], dict[str, list[int]]]:
    """Calls per category for every stored night that has data."""
    query = scope_calls(select(Call.night, Call.category, func.count()), user).group_by(
        Call.night, Call.category
    )
    rows = session.execute(query).tuples().all()
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
