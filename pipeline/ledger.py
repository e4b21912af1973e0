"""The slip ledger (预警单台账): one place for what a slip can be, how slips are found, and how they leave.

The CLI (``complaints slips list|export|update``), the web pages, the JSON
API and the exports all read slips through this module, so they cannot
disagree on ordering, search, filters or export headers. Status, action,
level and callback result are enums (``StrEnum``, so they compare equal to
the strings stored in the database). Lifecycle changes stay in
:mod:`pipeline.slips`; comments, attachments and in-app notifications live
here because they hang off a slip without changing its state.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from pipeline.config import get_settings, section
from pipeline.labels import LABEL_ZH, LABELS
from pipeline.records import SHANGHAI
from pipeline.storage.db import customer_hash
from pipeline.storage.models import (
    SLIP_STATUS_ZH,
    Call,
    Notification,
    Slip,
    SlipAttachment,
    SlipCall,
    SlipComment,
    User,
)
from pipeline.storage.types import utcnow
from pipeline.text.mask import mask_phone


class Status(StrEnum):
    """Where a slip is in its life (the values are what the database stores)."""

    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CALLBACK = "callback"
    CLOSED = "closed"

    @property
    def zh(self) -> str:
        return SLIP_STATUS_ZH[self.value]


OPEN_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s is not Status.CLOSED)


class Action(StrEnum):
    """What a person can do to a slip."""

    ACKNOWLEDGE = "acknowledge"
    HANDLE = "handle"
    CALLBACK = "callback"
    CLOSE = "close"
    ESCALATE = "escalate"
    ASSIGN = "assign"
    FALSE_ALARM = "false_alarm"

    @property
    def zh(self) -> str:
        return _ACTION_ZH[self]

    @property
    def done_zh(self) -> str:
        """The confirmation shown after the action succeeded."""
        return _ACTION_DONE_ZH[self]


_ACTION_ZH = {
    Action.ACKNOWLEDGE: "签收",
    Action.HANDLE: "记录处理",
    Action.CALLBACK: "回访",
    Action.CLOSE: "销号",
    Action.ESCALATE: "提级督办",
    Action.ASSIGN: "转派",
    Action.FALSE_ALARM: "标记误报",
}
_ACTION_DONE_ZH = {
    Action.ACKNOWLEDGE: "已签收",
    Action.HANDLE: "处理情况已记录",
    Action.CALLBACK: "回访结果已记录",
    Action.CLOSE: "已销号",
    Action.ESCALATE: "已提级督办",
    Action.ASSIGN: "已转派",
    Action.FALSE_ALARM: "已标记为误报",
}
SYSTEM_EVENTS: dict[str, str] = {
    "create": "生成",
    "new_call": "新来电",
    "reopen": "重新打开",
    "escalated_12398": "12398 转办",
    "label_category": "更正问题类别",
    "rescore": "夜间复评",
}
EVENT_ZH: dict[str, str] = {a.value: a.zh for a in Action} | SYSTEM_EVENTS


class Level(StrEnum):
    """Warning level of a slip, most severe first."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"

    @property
    def zh(self) -> str:
        return {"red": "红色", "orange": "橙色", "yellow": "黄色"}[self.value]

    @property
    def rank(self) -> int:
        """Severity: red 3, orange 2, yellow 1 (no level is 0)."""
        return {"red": 3, "orange": 2, "yellow": 1}[self.value]


LEVELS: tuple[Level, ...] = tuple(Level)


class CallbackResult(StrEnum):
    """What the customer said when called back."""

    SATISFIED = "满意"
    MOSTLY_SATISFIED = "基本满意"
    UNSATISFIED = "不满意"


CALLBACK_RESULTS: tuple[str, ...] = tuple(r.value for r in CallbackResult)
SATISFIED: frozenset[str] = frozenset({CallbackResult.SATISFIED, CallbackResult.MOSTLY_SATISFIED})


class LedgerError(Exception):
    """Something about the ledger a person must fix; the message is Chinese and shown as is."""


class FilterError(LedgerError):
    """A filter value that makes no sense."""


# -- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerConfig:
    """Service policy for the ledger: ``[slips]`` in complaints.toml."""

    due_soon_hours: float = 6.0
    callback_roles: tuple[str, ...] = ("province",)
    attachment_max_bytes: int = 5 * 1024 * 1024
    attachments_per_slip: int = 20
    comment_max_chars: int = 2000


def load_ledger_config(**overrides: Any) -> LedgerConfig:
    """The ``[slips]`` table over the defaults; unknown keys are refused so typos do not go unnoticed."""
    values = {**section("slips"), **overrides}
    known = {f.name for f in fields(LedgerConfig)}
    unknown = set(values) - known
    if unknown:
        raise LedgerError(f"[slips] 配置中有未知项: {', '.join(sorted(unknown))}")
    if "callback_roles" in values:
        roles = values["callback_roles"]
        values["callback_roles"] = tuple([roles] if isinstance(roles, str) else roles)
    return LedgerConfig(**values)


# -- time left -----------------------------------------------------------------------------------


def remaining(slip: Slip, now: datetime | None = None) -> timedelta | None:
    """Time left until the due time (negative when overdue); None for a closed slip."""
    if slip.status == Status.CLOSED:
        return None
    return slip.due_at - (now or utcnow())


def due_state(slip: Slip, now: datetime | None = None, config: LedgerConfig | None = None) -> str:
    """``closed``, ``overdue``, ``due_soon`` (即将超期) or ``ok``."""
    left = remaining(slip, now)
    if left is None:
        return "closed"
    if left < timedelta(0):
        return "overdue"
    if left <= timedelta(hours=(config or LedgerConfig()).due_soon_hours):
        return "due_soon"
    return "ok"


def is_overdue(slip: Slip, now: datetime | None = None) -> bool:
    """An open slip past its due time."""
    return due_state(slip, now) == "overdue"


def _span_zh(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分钟"


def remaining_zh(slip: Slip, now: datetime | None = None) -> str:
    """The countdown as staff read it: 剩余 5小时20分 / 已超期 3小时12分 / — for closed slips."""
    left = remaining(slip, now)
    if left is None:
        return "—"
    return f"已超期 {_span_zh(left)}" if left < timedelta(0) else f"剩余 {_span_zh(left)}"


# -- filters ---------------------------------------------------------------------------------------

STATUS_CHOICES: dict[str, str] = {
    "open": "未销号",
    "due_soon": "即将超期",
    "overdue": "已超期",
    "all": "全部",
} | {s.value: s.zh for s in Status}
SORTS: dict[str, str] = {"level": "等级优先", "due": "剩余时间"}
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)
MAX_PAGE = 100_000
MAX_PER_PAGE = 200
Q_MAX = 64


@dataclass
class LedgerFilters:
    """What a slip list may be narrowed by. ``level``/``status`` may hold several comma-separated values."""

    unit: str | None = None
    level: str | None = None
    status: str = "all"
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    supervised: bool = False
    assignee: str | None = None
    sort: str = "level"
    escalated_12398: bool = False
    false_alarm: bool = False

    def __post_init__(self) -> None:
        for name in ("level", "status"):
            value = getattr(self, name)
            if isinstance(value, list | tuple | set | frozenset):
                setattr(self, name, ",".join(str(v) for v in value))
        _validate(self)

    @classmethod
    def coerce(cls, value: LedgerFilters | Mapping[str, Any] | None) -> LedgerFilters:
        """Filters from a mapping of field names (CLI, tests); unknown names are an error."""
        if value is None:
            return cls()
        if isinstance(value, LedgerFilters):
            return value
        names = {f.name for f in fields(cls)}
        unknown = set(value) - names
        if unknown:
            raise FilterError(f"未知筛选条件: {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in value.items() if v is not None and v != ""})

    @property
    def levels(self) -> list[str]:
        return [v for v in (self.level or "").split(",") if v]

    @property
    def statuses(self) -> list[str]:
        return [v for v in (self.status or "all").split(",") if v]

    def as_query(self) -> dict[str, str]:
        """The filters as URL query parameters (paging links, exports)."""
        values: dict[str, Any] = {
            "unit": self.unit,
            "level": self.level,
            "status": self.status,
            "category": self.category,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "q": self.q,
            "supervised": "1" if self.supervised else None,
            "assignee": self.assignee,
            "sort": self.sort if self.sort != "level" else None,
            "escalated_12398": "1" if self.escalated_12398 else None,
            "false_alarm": "1" if self.false_alarm else None,
        }
        return {k: str(v) for k, v in values.items() if v}


def _validate(f: LedgerFilters) -> None:
    for level in f.levels:
        if level not in Level.__members__.values():
            raise FilterError(f"预警等级必须是 {'/'.join(LEVELS)} 之一，收到 {level}")
    statuses = f.statuses
    if len(statuses) > 1:
        bad = [s for s in statuses if s not in Status.__members__.values()]
        if bad:
            raise FilterError(f"状态必须是 {'/'.join(Status)} 之一，收到 {bad[0]}")
    elif statuses and statuses[0] not in STATUS_CHOICES:
        raise FilterError(f"状态必须是 {'/'.join(STATUS_CHOICES)} 之一，收到 {statuses[0]}")
    if f.category and f.category not in LABELS:
        raise FilterError(f"问题类别必须是 {'/'.join(LABELS)} 之一，收到 {f.category}")
    for name, value in (("起始日期", f.date_from), ("截止日期", f.date_to)):
        if value is not None and not MIN_DATE <= value <= MAX_DATE:
            raise FilterError(f"{name}须在 {MIN_DATE} 至 {MAX_DATE} 之间")
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise FilterError("起始日期晚于截止日期")
    if f.sort not in SORTS:
        raise FilterError(f"排序方式必须是 {'/'.join(SORTS)} 之一")
    if f.q is not None and len(f.q) > Q_MAX:
        raise FilterError(f"搜索内容不超过 {Q_MAX} 个字符")


def _parse_date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FilterError(f"{name}必须是 YYYY-MM-DD 格式的日期") from exc


def parse_filters(params: Mapping[str, str | None], default_status: str = "open") -> LedgerFilters:
    """Filters from raw query parameters (web pages, API); a bad value raises FilterError, never ignored."""

    def text(name: str) -> str | None:
        value = params.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    return LedgerFilters(
        unit=text("unit"),
        level=text("level"),
        status=text("status") or default_status,
        category=text("category"),
        date_from=_parse_date(text("date_from"), "起始日期"),
        date_to=_parse_date(text("date_to"), "截止日期"),
        q=text("q"),
        supervised=params.get("supervised") in ("1", "true", "on", True),
        assignee=text("assignee"),
        sort=text("sort") or "level",
        escalated_12398=params.get("escalated_12398") in ("1", "true", "on", True),
        false_alarm=params.get("false_alarm") in ("1", "true", "on", True),
    )


def parse_page(value: str | int | None) -> int:
    """A page number between 1 and MAX_PAGE; anything else is a FilterError."""
    if value is None or value == "":
        return 1
    try:
        page = int(value)
    except (TypeError, ValueError) as exc:
        raise FilterError("页码必须是正整数") from exc
    if not 1 <= page <= MAX_PAGE:
        raise FilterError(f"页码须在 1 至 {MAX_PAGE} 之间")
    return page


def local_day_start(day: date) -> datetime:
    """Midnight of a Beijing day, in UTC."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


_DIGITS = re.compile(r"^\d+$")


def _search(q: str) -> Any:
    """Slip number, caller's phone tail or number, account number or tail, area, unit."""
    q = q.strip()
    conditions = [
        Slip.slip_no.contains(q.upper(), autoescape=True),
        Slip.area.contains(q, autoescape=True),
        Slip.unit.contains(q, autoescape=True),
    ]
    digits = q.replace(" ", "").replace("-", "")
    if _DIGITS.match(digits):
        on_calls = select(SlipCall.slip_id).join(Call, Call.id == SlipCall.call_id)
        if len(digits) <= 6:
            conditions.append(Slip.customer_masked.endswith(digits))
            tail = on_calls.where(Call.phone_masked.endswith(digits, autoescape=True))
            conditions.append(Slip.id.in_(tail))
        else:
            conditions.append(Slip.customer_key == customer_hash(digits))
            masked = mask_phone(digits)
            conditions.append(Slip.id.in_(on_calls.where(Call.phone_masked == masked)))
    return or_(*conditions)


Scope = Callable[[Select[Any]], Select[Any]]


def slip_query(
    filters: LedgerFilters, *, scope: Scope | None = None, now: datetime | None = None
) -> Select[Any]:
    """SELECT of the slips matching the filters (dates are Beijing days on the issue time), unordered."""
    now = now or utcnow()
    query = select(Slip)
    if scope is not None:
        query = scope(query)
    f = filters
    if f.unit:
        query = query.where(Slip.unit == f.unit)
    if f.levels:
        query = query.where(Slip.level.in_(f.levels))
    if f.category:
        query = query.where(Slip.category == f.category)
    statuses = f.statuses
    choice = statuses[0] if len(statuses) == 1 else None
    if choice == "open":
        query = query.where(Slip.status != Status.CLOSED)
    elif choice == "overdue":
        query = query.where(Slip.status != Status.CLOSED, Slip.due_at < now)
    elif choice == "due_soon":
        soon = now + timedelta(hours=load_ledger_config().due_soon_hours)
        query = query.where(Slip.status != Status.CLOSED, Slip.due_at >= now, Slip.due_at <= soon)
    elif choice != "all":
        query = query.where(Slip.status.in_(statuses))
    if f.date_from:
        query = query.where(Slip.created_at >= local_day_start(f.date_from))
    if f.date_to:
        query = query.where(Slip.created_at < local_day_start(f.date_to + timedelta(days=1)))
    if f.q:
        query = query.where(_search(f.q))
    if f.supervised:
        query = query.where(Slip.supervised.is_(True))
    if f.assignee:
        query = query.where(Slip.assignee == f.assignee)
    if f.escalated_12398:
        query = query.where(Slip.escalated_12398.is_(True))
    if f.false_alarm:
        query = query.where(Slip.false_alarm.is_(True))
    return query


def ordered(query: Select[Any], sort: str = "level") -> Select[Any]:
    """Queue order: open before closed, then red → orange → yellow and nearest due time (``level``),
    or nearest due time first whatever the level (``due``)."""
    is_closed = case((Slip.status == Status.CLOSED, 1), else_=0)
    severity = case({lv.value: lv.rank for lv in Level}, value=Slip.level, else_=0)
    if sort == "due":
        return query.order_by(is_closed, Slip.due_at, severity.desc(), Slip.id)
    return query.order_by(is_closed, severity.desc(), Slip.due_at, Slip.id)


@dataclass
class SlipPage:
    """One page of a slip list."""

    items: list[Slip]
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.total / self.per_page))


def list_slips(
    session: Session,
    filters: LedgerFilters | Mapping[str, Any] | None = None,
    page: int = 1,
    per_page: int = 50,
    *,
    scope: Scope | None = None,
    now: datetime | None = None,
) -> SlipPage:
    """One page of the matching slips in queue order; a page past the end shows the last page."""
    f = LedgerFilters.coerce(filters)
    per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
    base = slip_query(f, scope=scope, now=now)
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    last = max(1, math.ceil(total / per_page))
    page = min(max(1, int(page)), last)
    rows = session.scalars(ordered(base, f.sort).offset((page - 1) * per_page).limit(per_page)).all()
    return SlipPage(items=list(rows), total=total, page=page, per_page=per_page)


def iter_slips(
    session: Session,
    filters: LedgerFilters | Mapping[str, Any] | None = None,
    *,
    scope: Scope | None = None,
    now: datetime | None = None,
    batch: int = 1000,
) -> Iterator[Slip]:
    """Every matching slip in queue order, fetched in batches: exports stream all rows, no cap."""
    f = LedgerFilters.coerce(filters)
    query = ordered(slip_query(f, scope=scope, now=now), f.sort)
    yield from session.scalars(query.execution_options(yield_per=batch))


# -- exports -----------------------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("slip_no", "预警单编号", 18),
    ("unit", "供电单位", 16),
    ("area", "区域", 18),
    ("customer", "客户", 14),
    ("category", "问题类别", 10),
    ("level", "预警等级", 8),
    ("score", "风险评分", 8),
    ("status", "状态", 8),
    ("assignee", "处理人", 10),
    ("overdue", "是否超期", 8),
    ("remaining", "剩余时间", 14),
    ("supervised", "督办", 6),
    ("call_count", "来电次数", 8),
    ("reopen_count", "重开次数", 8),
    ("created_at", "下发时间", 17),
    ("due_at", "办结时限", 17),
    ("closed_at", "销号时间", 17),
    ("callback_result", "回访结果", 10),
    ("reasons", "预警原因", 50),
    ("recommended_actions", "建议措施", 40),
    ("handling", "处理情况", 50),
    ("escalated_12398", "12398投诉", 8),
    ("escalated_at", "12398受理时间", 17),
    ("false_alarm", "误报", 6),
    ("false_alarm_reason", "误报原因", 30),
)
EXPORT_HEADERS: tuple[str, ...] = tuple(h for _, h, _ in EXPORT_COLUMNS)
EXPORT_FORMATS: tuple[str, ...] = ("jsonl", "csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def local_time(moment: datetime | None) -> str:
    """A timestamp as Beijing time, minute precision."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def reason_text(reason: Any) -> str:
    """The Chinese sentence of a reason, whether stored as a string or a dict."""
    if isinstance(reason, str):
        return reason
    if isinstance(reason, dict):
        for key in ("text", "reason", "zh", "message", "label"):
            if isinstance(reason.get(key), str):
                return reason[key]
    return str(reason)


def level_zh(level: str) -> str:
    return Level(level).zh if level in Level.__members__.values() else ("无" if level == "none" else level)


def status_zh(status: str) -> str:
    return STATUS_CHOICES.get(status, status)


def export_row(slip: Slip, now: datetime | None = None, spreadsheet: bool = True) -> dict[str, Any]:
    """A slip as one flat row under the Chinese headers; for CSV/XLSX (``spreadsheet``) every text that
    a spreadsheet would run as a formula is neutralised, JSONL keeps the text as typed."""
    now = now or utcnow()
    values: dict[str, Any] = {
        "slip_no": slip.slip_no,
        "unit": slip.unit,
        "area": slip.area or "",
        "customer": slip.customer_masked,
        "category": LABEL_ZH.get(slip.category, slip.category),
        "level": level_zh(slip.level),
        "score": round(slip.score, 3),
        "status": status_zh(slip.status),
        "assignee": slip.assignee or "",
        "overdue": "是" if is_overdue(slip, now) else "否",
        "remaining": remaining_zh(slip, now),
        "supervised": "是" if slip.supervised else "否",
        "call_count": slip.call_count,
        "reopen_count": slip.reopen_count,
        "created_at": local_time(slip.created_at),
        "due_at": local_time(slip.due_at),
        "closed_at": local_time(slip.closed_at),
        "callback_result": slip.callback_result or "",
        "reasons": "；".join(reason_text(r) for r in slip.reasons or []),
        "recommended_actions": "；".join(str(a) for a in slip.recommended_actions or []),
        "handling": slip.handling_note or "",
        "escalated_12398": "是" if slip.escalated_12398 else "否",
        "escalated_at": local_time(slip.escalated_at),
        "false_alarm": "是" if slip.false_alarm else "否",
        "false_alarm_reason": slip.false_alarm_reason or "",
    }
    clean = safe_cell if spreadsheet else (lambda value: value)
    return {header: clean(values[key]) for key, header, _ in EXPORT_COLUMNS}


def write_csv(rows: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    """CSV with the export headers (open the file as utf-8-sig for Excel); returns the row count."""
    writer = csv.DictWriter(handle, fieldnames=list(EXPORT_HEADERS))
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def write_jsonl(rows: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    """One JSON object per line; returns the row count."""
    count = 0
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


LEVEL_FILL = {"红色": "FFCDD2", "橙色": "FFE0B2", "黄色": "FFF9C4"}
_WRAPPED = {"预警原因", "建议措施", "处理情况"}


def write_xlsx(rows: Iterable[dict[str, Any]], target: str | Path | IO[bytes]) -> int:
    """The 台账 workbook: frozen header, filters, level colours, every value a plain string or number.

    openpyxl's write-only mode streams rows, so tens of thousands of slips never sit in memory as
    cell objects; strings are written as text cells (never formulas) on top of :func:`safe_cell`.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("预警单台账")
    for i, (_, _, width) in enumerate(EXPORT_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "B2"
    header = []
    for name in EXPORT_HEADERS:
        cell = WriteOnlyCell(ws, value=name)
        cell.fill = PatternFill("solid", fgColor="ECEFF1")
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    count = 0
    for row in rows:
        cells = []
        for name in EXPORT_HEADERS:
            value = row[name]
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if name == "预警等级" and value in LEVEL_FILL:
                cell.fill = PatternFill("solid", fgColor=LEVEL_FILL[value])
            if name in _WRAPPED:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        ws.append(cells)
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(EXPORT_HEADERS))}{count + 1}"
    wb.save(target)
    return count


def xlsx_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    """The workbook as bytes (web download)."""
    buf = io.BytesIO()
    write_xlsx(rows, buf)
    return buf.getvalue()


def export_filename(now: datetime | None = None) -> str:
    """预警单台账-YYYYMMDD-HHMM.xlsx in Beijing time."""
    return f"预警单台账-{(now or utcnow()).astimezone(SHANGHAI):%Y%m%d-%H%M}.xlsx"


# -- comments and attachments ------------------------------------------------------------------------


def add_comment(
    session: Session, slip: Slip, by: str, body: str, config: LedgerConfig | None = None
) -> SlipComment:
    """A remark on the slip; comments are never edited or removed."""
    config = config or load_ledger_config()
    body = (body or "").strip()
    if not body:
        raise LedgerError("评论内容不能为空")
    if len(body) > config.comment_max_chars:
        raise LedgerError(f"评论不超过 {config.comment_max_chars} 字")
    comment = SlipComment(slip_id=slip.id, at=utcnow(), by=by, body=body)
    session.add(comment)
    session.flush()
    return comment


def comments_of(session: Session, slip: Slip) -> list[SlipComment]:
    return list(
        session.scalars(select(SlipComment).where(SlipComment.slip_id == slip.id).order_by(SlipComment.id))
    )


IMAGE_TYPES: dict[str, tuple[str, bytes, int]] = {
    "image/jpeg": (".jpg", b"\xff\xd8\xff", 0),
    "image/png": (".png", b"\x89PNG\r\n\x1a\n", 0),
    "image/webp": (".webp", b"WEBP", 8),
}


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes really are (by signature, not by the name or the browser's claim)."""
    for content_type, (_, magic, offset) in IMAGE_TYPES.items():
        if data[offset : offset + len(magic)] == magic and (
            content_type != "image/webp" or data[:4] == b"RIFF"
        ):
            return content_type
    return None


def attachments_dir() -> Path:
    """Where attachment files live: ``<data home>/attachments/<slip id>/``."""
    return get_settings().home / "attachments"


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\"<>|:*?]", "_", base).strip(" .") or "照片"
    return base[-100:]


def add_attachment(
    session: Session,
    slip: Slip,
    by: str,
    filename: str,
    data: bytes,
    config: LedgerConfig | None = None,
) -> SlipAttachment:
    """Store a photo for the slip on disk and record it; only JPEG/PNG/WebP up to the size limit."""
    config = config or load_ledger_config()
    if not data:
        raise LedgerError("请选择要上传的照片")
    if len(data) > config.attachment_max_bytes:
        raise LedgerError(f"照片不能超过 {config.attachment_max_bytes // (1024 * 1024)} MB")
    content_type = sniff_image(data)
    if content_type is None:
        raise LedgerError("只能上传 JPG、PNG 或 WebP 格式的照片")
    count = session.scalar(select(func.count()).where(SlipAttachment.slip_id == slip.id)) or 0
    if count >= config.attachments_per_slip:
        raise LedgerError(f"每张预警单最多 {config.attachments_per_slip} 个附件")
    stored = uuid.uuid4().hex + IMAGE_TYPES[content_type][0]
    folder = attachments_dir() / str(slip.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(data)
    attachment = SlipAttachment(
        slip_id=slip.id,
        at=utcnow(),
        by=by,
        filename=_safe_name(filename),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        stored_name=stored,
    )
    session.add(attachment)
    session.flush()
    return attachment


def attachments_of(session: Session, slip: Slip) -> list[SlipAttachment]:
    query = select(SlipAttachment).where(SlipAttachment.slip_id == slip.id).order_by(SlipAttachment.id)
    return list(session.scalars(query))


def attachment_path(attachment: SlipAttachment) -> Path:
    return attachments_dir() / str(attachment.slip_id) / attachment.stored_name


# -- in-app notifications ------------------------------------------------------------------------------

NOTICE_KINDS: dict[str, str] = {"red": "新红色预警", "due_soon": "即将超期"}


def _recipients(users: list[User], slip: Slip, kind: str) -> list[User]:
    """Province staff hear of every red slip; a unit's staff hear of their own red and due-soon slips."""
    chosen = []
    for user in users:
        if user.role == "unit" and user.unit == slip.unit:
            chosen.append(user)
        elif user.role == "province" and kind == "red":
            chosen.append(user)
    return chosen


def refresh_notifications(
    session: Session, now: datetime | None = None, config: LedgerConfig | None = None
) -> int:
    """Write one notice per user for each open red slip and each slip about to be overdue; the caller commits.

    Idempotent: a (user, slip, kind) notice is written once, so this can run every minute and after
    every nightly batch.
    """
    now = now or utcnow()
    config = config or load_ledger_config()
    soon = now + timedelta(hours=config.due_soon_hours)
    users = list(session.scalars(select(User).where(User.disabled.is_(False), User.role != "auditor")))
    if not users:
        return 0
    is_open = Slip.status != Status.CLOSED
    wanted: list[tuple[Slip, str]] = []
    for slip in session.scalars(select(Slip).where(is_open, Slip.level == Level.RED)):
        wanted.append((slip, "red"))
    for slip in session.scalars(select(Slip).where(is_open, Slip.due_at >= now, Slip.due_at <= soon)):
        wanted.append((slip, "due_soon"))
    if not wanted:
        return 0
    slip_ids = {slip.id for slip, _ in wanted}
    have = set(
        session.execute(
            select(Notification.user_id, Notification.slip_id, Notification.kind).where(
                Notification.slip_id.in_(slip_ids)
            )
        ).tuples()
    )
    added = 0
    for slip, kind in wanted:
        for user in _recipients(users, slip, kind):
            if (user.id, slip.id, kind) in have:
                continue
            text = (
                f"{NOTICE_KINDS[kind]}：{slip.slip_no} {slip.unit} {LABEL_ZH.get(slip.category, slip.category)}，"
                f"办结时限 {local_time(slip.due_at)}"
            )
            session.add(Notification(user_id=user.id, slip_id=slip.id, kind=kind, text=text, created_at=now))
            have.add((user.id, slip.id, kind))
            added += 1
    session.flush()
    return added


def notifications_for(session: Session, user: User, limit: int = 100) -> list[tuple[Notification, str]]:
    """The user's notices, newest first, with the slip number each is about."""
    query = (
        select(Notification, Slip.slip_no)
        .join(Slip, Slip.id == Notification.slip_id)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return [(n, no) for n, no in session.execute(query)]


def unread_count(session: Session, user: User) -> int:
    query = select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    return session.scalar(query) or 0


def mark_read(session: Session, user: User, now: datetime | None = None) -> int:
    """Mark every unread notice of the user as read; returns how many."""
    rows = session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).all()
    for row in rows:
        row.read_at = now or utcnow()
    session.flush()
    return len(rows)


def has_new_handling(events: Iterable[Any]) -> bool:
    """True when the slip was handled after its last callback (a callback needs fresh work first)."""
    last = None
    for event in events:
        if event.action in (Action.HANDLE, Action.CALLBACK):
            last = event
    return last is not None and last.action == Action.HANDLE


def last_handler(events: Iterable[Any]) -> str | None:
    """Who recorded the latest handling."""
    name = None
    for event in events:
        if event.action == Action.HANDLE:
            name = event.by
    return name
