"""The slip queue: filters, ordering and paging done in the database.

Tens of thousands of slips must page quickly, so the queue never loads more
than one page of rows: filters become WHERE clauses (backed by the unit/status
indexes), ordering is level first (red, orange, yellow) then due time, and a
COUNT gives the number of pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from pipeline.labels import LABELS
from pipeline.records import SHANGHAI
from pipeline.storage.models import SLIP_STATUSES, Slip, User
from pipeline.storage.types import utcnow
from webapp.access import scope_slips

SLIP_LEVELS: tuple[str, ...] = ("red", "orange", "yellow")
STATUS_FILTERS: tuple[str, ...] = ("open", "overdue", "all", *SLIP_STATUSES)
MAX_PER_PAGE = 200

LEVEL_RANK = case({"red": 0, "orange": 1, "yellow": 2}, value=Slip.level, else_=3)


class FilterError(ValueError):
    """A filter value that makes no sense (shown to the user in Chinese)."""


@dataclass
class QueueFilters:
    """What the queue page and ``GET /api/slips`` filter on; empty means no filter."""

    unit: str | None = None
    level: str | None = None
    status: str = "open"
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    supervised: bool = False

    def as_query(self) -> dict[str, str]:
        """The filters as URL query parameters (for paging links and exports)."""
        values: dict[str, Any] = {
            "unit": self.unit,
            "level": self.level,
            "status": self.status,
            "category": self.category,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "q": self.q,
            "supervised": "1" if self.supervised else None,
        }
        return {k: str(v) for k, v in values.items() if v}


def _parse_date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FilterError(f"{name} 必须是 YYYY-MM-DD 格式的日期") from exc


def parse_filters(params: dict[str, str | None]) -> QueueFilters:
    """Validate raw query parameters; unknown values raise FilterError rather than being ignored."""
    level = params.get("level") or None
    if level and level not in SLIP_LEVELS:
        raise FilterError(f"预警等级必须是 {'/'.join(SLIP_LEVELS)} 之一")
    status = params.get("status") or "open"
    if status not in STATUS_FILTERS:
        raise FilterError(f"状态必须是 {'/'.join(STATUS_FILTERS)} 之一")
    category = params.get("category") or None
    if category and category not in LABELS:
        raise FilterError(f"类别必须是 {'/'.join(LABELS)} 之一")
    date_from = _parse_date(params.get("date_from"), "起始日期")
    date_to = _parse_date(params.get("date_to"), "截止日期")
    if date_from and date_to and date_from > date_to:
        raise FilterError("起始日期晚于截止日期")
    q = (params.get("q") or "").strip()[:64] or None
    return QueueFilters(
        unit=(params.get("unit") or "").strip() or None,
        level=level,
        status=status,
        category=category,
        date_from=date_from,
        date_to=date_to,
        q=q,
        supervised=params.get("supervised") in ("1", "true", "on"),
    )


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def filtered(query: Select[Any], filters: QueueFilters, now: datetime | None = None) -> Select[Any]:
    """Apply the filters to a slip query (dates are days in Asia/Shanghai, on the creation time)."""
    now = now or utcnow()
    if filters.unit:
        query = query.where(Slip.unit == filters.unit)
    if filters.level:
        query = query.where(Slip.level == filters.level)
    if filters.category:
        query = query.where(Slip.category == filters.category)
    if filters.status == "open":
        query = query.where(Slip.status != "closed")
    elif filters.status == "overdue":
        query = query.where(Slip.status != "closed", Slip.due_at < now)
    elif filters.status != "all":
        query = query.where(Slip.status == filters.status)
    if filters.date_from:
        query = query.where(Slip.created_at >= local_day_start(filters.date_from))
    if filters.date_to:
        query = query.where(Slip.created_at < local_day_start(filters.date_to + timedelta(days=1)))
    if filters.q:
        query = query.where(Slip.slip_no.contains(filters.q, autoescape=True))
    if filters.supervised:
        query = query.where(Slip.supervised.is_(True))
    return query


@dataclass
class Page:
    """One page of the queue."""

    items: list[Slip]
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // self.per_page))


def queue_page(
    session: Session, user: User, filters: QueueFilters, page: int = 1, per_page: int = 50
) -> Page:
    """The slips this user may see, filtered, most urgent first, one page of them."""
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    page = max(1, page)
    base = filtered(scope_slips(select(Slip), user), filters)
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    rows = session.scalars(
        base.order_by(LEVEL_RANK, Slip.due_at, Slip.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return Page(items=list(rows), total=total, page=page, per_page=per_page)


def iter_queue(session: Session, user: User, filters: QueueFilters, batch: int = 1000):
    """Every slip of the filtered queue in queue order, fetched in batches (for the ledger export)."""
    query = filtered(scope_slips(select(Slip), user), filters).order_by(LEVEL_RANK, Slip.due_at, Slip.id)
    yield from session.scalars(query.execution_options(yield_per=batch))


def visible_units(session: Session, user: User) -> list[str]:
    """Units that appear in the filter drop-down."""
    if user.role == "unit":
        return [user.unit] if user.unit else []
    return list(session.scalars(select(Slip.unit).distinct().order_by(Slip.unit)))


def is_overdue(slip: Slip, now: datetime | None = None) -> bool:
    """An open slip past its due time."""
    return slip.status != "closed" and slip.due_at < (now or utcnow())
