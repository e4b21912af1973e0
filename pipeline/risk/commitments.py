"""What the agent promised in a call, when it falls due, and what an overdue promise means for risk.

A missed commitment is what turns an ordinary request into a complaint
(``shared/domain-notes.md``): a crew that was to be on site within 45 minutes,
power that was to be back by 八点, a reply within 5 working days, supply back
within 24 hours of paying arrears. This module reads those promises from the
agent's turns, with the due time computed from the call time (working days
skip Saturdays and Sundays; public holidays are not known here), and decides
which are overdue at a given moment. An overdue promise raises the level with
no new call and says so in Chinese (``承诺2小时内到场，已超时5小时``).

Pure: no database, no model. Callers keep the commitments of a problem and ask
:func:`overdue_commitments` / :func:`apply_overdue` each night.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from pipeline.risk.config import RiskConfig
from pipeline.risk.levels import LEVEL_RANK, higher
from pipeline.risk.reasons import Reason
from pipeline.text.normalize import normalize
from pipeline.text.turns import split_turns
from pipeline.workdays import working_days_after

KINDS: dict[str, str] = {
    "crew": "到场",
    "restore": "恢复供电",
    "reply": "答复",
    "visit": "上门处理",
    "reconnect": "复电",
}
"""Kinds of commitment and the Chinese verb a reason uses for each."""

OVERDUE_CODE = "commitment_overdue"
OVERDUE_WEIGHT = 0.75

_DIGITS = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5}
_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两俩三四五六七八九十百]+|半|个把)"
_SPAN_UNIT = r"(?:分钟|分|个?小时|个?钟头|个?钟)"
_SPAN = rf"(?P<n>{_NUM})(?P<half>个半|个|点五)?\s*(?P<unit>{_SPAN_UNIT})"
_WITHIN = r"(?:之内|以内|内|左右|上下|前后)?"
_GAP = r"[^。！？!?；;，,]{0,8}?"

_ARRIVE = r"(?:到达现场|赶到现场|到现场|赶到|到达|到场|到位|上门|过去|过来|到)"
_CREW = (
    re.compile(rf"{_SPAN}{_WITHIN}{_GAP}(?P<verb>{_ARRIVE})"),
    re.compile(
        rf"(?:到达现场|赶到现场|到现场|到达|到场|上门)(?:时间|时限)?[^。！？!?；;\d]{{0,4}}?{_SPAN}{_WITHIN}"
    ),
)
_PLAIN_ARRIVE = {"到", "过去", "过来", "到位"}
_CREW_WORD = re.compile(r"抢修|师傅|人员|电工|班组|派单|派人|派车|安排人|队伍|值班")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
_RESTORE_VERB = r"(?:恢复供电|恢复送电|恢复用电|恢复正常供电|送电|来电|通电|复电|恢复)"
_NO_ARRIVAL_GAP = r"[^。！？!?；;，,到]{0,8}?"
_RESTORE_SPAN = re.compile(rf"{_SPAN}{_WITHIN}{_NO_ARRIVAL_GAP}{_RESTORE_VERB}")
_CLOCK = (
    r"(?P<day>今天|今晚|明天|明早|后天)?(?P<part>早上|早晨|上午|中午|下午|傍晚|晚上|夜里|凌晨)?"
    r"(?P<h>\d{1,2}|[零一二两三四五六七八九十]{1,3})(?:点|时|:|：)(?!半会)"
    r"(?P<m>半|一刻|三刻|\d{1,2}分?|[零一二三四五六七八九十]{1,3}分)?"
)
_RESTORE_CLOCK = (
    re.compile(rf"{_CLOCK}(?:左右|之前|以前|前|之内|以内)?{_NO_ARRIVAL_GAP}{_RESTORE_VERB}"),
    re.compile(rf"{_RESTORE_VERB}(?:的)?(?:时间)?[^。！？!?；;]{{0,4}}?(?:大概|预计|会在|在|是){_CLOCK}"),
)
_WORKDAYS = re.compile(
    rf"(?P<n>{_NUM})个?(?P<unit>工作日|工作天|个?自然日|天)(?:之内|以内|内)?{_GAP}"
    r"(?P<verb>答复|回复|回电|联系|给您回|处理|办结|办好|办完|完成|核实|核查|上门|装表|安装|解决|反馈|落实)"
)
_RECONNECT = re.compile(
    rf"(?:缴费|交费|缴清|交清|付清|补缴|结清|到账)[^。！？!?；;]{{0,8}}?{_SPAN}{_WITHIN}{_GAP}"
    r"(?:恢复供电|恢复送电|复电|送电|来电|恢复)"
)


def chinese_number(text: str) -> float | None:
    """A number as said or typed: 45, 1.5, 四十五, 两, 二十, 一百零五, 半 (0.5), 个把 (1)."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if text == "半":
        return 0.5
    if text == "个把":
        return 1.0
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = current * 10 + _DIGITS[ch] if current and ch not in "零〇" else _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return float(total + current)


def _span(match: re.Match[str]) -> timedelta | None:
    number = chinese_number(match.group("n"))
    if number is None:
        return None
    half = match.group("half") or ""
    if half in ("个半", "点五"):
        number += 0.5
    unit = match.group("unit")
    if unit.startswith("分"):
        return timedelta(minutes=number)
    return timedelta(hours=number)


def _clock(match: re.Match[str], after: datetime) -> datetime | None:
    """The first moment at that clock time not before ``after`` (下午/晚上 add 12 h; 明天 is the next day)."""
    hour = chinese_number(match.group("h"))
    if hour is None or hour > 24:
        return None
    minute_text = match.group("m") or ""
    minute = {"半": 30, "一刻": 15, "三刻": 45, "": 0}.get(minute_text)
    if minute is None:
        minute = int(chinese_number(minute_text.rstrip("分")) or 0)
    part = match.group("part") or ""
    day = match.group("day") or ""
    h = int(hour) % 24
    if part in ("下午", "傍晚", "晚上", "夜里") and h < 12:
        h += 12
    if part == "中午" and h < 6:
        h += 12
    if day == "今晚" and h < 12:
        h += 12
    if minute >= 60:
        return None
    base = datetime.combine(after.date(), time(h, minute), after.tzinfo)
    if day in ("明天", "明早"):
        return base + timedelta(days=1)
    if day == "后天":
        return base + timedelta(days=2)
    if base >= after:
        return base
    if not part and h < 12 and base + timedelta(hours=12) >= after:
        return base + timedelta(hours=12)
    return base + timedelta(days=1)


@dataclass(frozen=True)
class Commitment:
    """One promise made to the customer in a call."""

    kind: str
    promised_at: datetime
    due_at: datetime
    quote: str
    call_id: str | None = None
    working_days: int | None = None
    by_clock: bool = False

    @property
    def span(self) -> timedelta:
        return self.due_at - self.promised_at

    def describe(self) -> str:
        """The promise in a reason's words: 承诺2小时内到场 / 承诺20:00前恢复供电 / 承诺3个工作日内答复."""
        verb = KINDS[self.kind]
        if self.kind == "reconnect":
            return f"承诺缴费后{_duration_zh(self.span)}内复电"
        if self.working_days is not None:
            return f"承诺{self.working_days}个工作日内{verb}"
        if self.by_clock:
            same_day = self.due_at.date() == self.promised_at.date()
            when = (
                f"{self.due_at:%H:%M}"
                if same_day
                else f"{self.due_at.month}月{self.due_at.day}日{self.due_at:%H:%M}"
            )
            return f"承诺{when}前{verb}"
        return f"承诺{_duration_zh(self.span)}内{verb}"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "promised_at": self.promised_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "quote": self.quote,
            "call_id": self.call_id,
            "working_days": self.working_days,
            "by_clock": self.by_clock,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Commitment:
        """The commitment stored with its call (``as_dict`` read back)."""
        return cls(
            kind=str(data["kind"]),
            promised_at=datetime.fromisoformat(str(data["promised_at"])),
            due_at=datetime.fromisoformat(str(data["due_at"])),
            quote=str(data.get("quote") or ""),
            call_id=str(data["call_id"]) if data.get("call_id") else None,
            working_days=int(data["working_days"]) if data.get("working_days") is not None else None,  # type: ignore[arg-type]
            by_clock=bool(data.get("by_clock")),
        )


def _duration_zh(delta: timedelta) -> str:
    """A duration the way a reason says it: 45分钟, 2小时, 1.5小时, 3天."""
    minutes = max(0, round(delta.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes}分钟"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:g}小时" if hours * 2 == int(hours * 2) else f"{int(hours)}小时{minutes % 60}分钟"
    return f"{int(hours // 24)}天"


def agent_text(transcript: str) -> str:
    """What the agent said (normalized); empty for free text, where no agent promised anything."""
    return "。".join(t.text for t in split_turns(normalize(transcript or "")) if t.speaker == "agent")


def _crew_context(text: str, match: re.Match[str]) -> bool:
    """A bare 到 / 过去 is a crew's arrival only when the sentence names the crew (稍等两分钟到系统里查 is not)."""
    verb = match.groupdict().get("verb")
    if verb not in _PLAIN_ARRIVE:
        return True
    ends = list(_SENTENCE_END.finditer(text, 0, match.start()))
    start = ends[-1].end() if ends else 0
    return _CREW_WORD.search(text, start, match.end()) is not None


def extract_commitments(transcript: str, call_time: datetime, call_id: str | None = None) -> list[Commitment]:
    """Every dated promise in the agent's turns, in order of appearance, with its due time.

    Vague promises (会尽快安排, 我们会督促尽快送电) carry no due time and are not returned.
    """
    text = agent_text(transcript)
    found: list[tuple[int, Commitment]] = []
    taken: list[tuple[int, int]] = []

    def add(
        match: re.Match[str],
        kind: str,
        due: datetime | None,
        working_days: int | None = None,
        clock: bool = False,
    ) -> None:
        if due is None or due <= call_time:
            return
        start, end = match.span()
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        found.append((start, Commitment(kind, call_time, due, match.group(0), call_id, working_days, clock)))

    for match in _RECONNECT.finditer(text):
        span = _span(match)
        add(match, "reconnect", call_time + span if span else None)
    for match in _WORKDAYS.finditer(text):
        number = chinese_number(match.group("n"))
        if number is None or number != int(number) or not 0 < number <= 60:
            continue
        kind = "visit" if match.group("verb") in ("上门", "装表", "安装") else "reply"
        if match.group("unit") in ("工作日", "工作天"):
            add(match, kind, working_days_after(call_time, int(number)), int(number))
        else:
            add(match, kind, call_time + timedelta(days=number))
    for pattern in _RESTORE_CLOCK:
        for match in pattern.finditer(text):
            add(match, "restore", _clock(match, call_time), clock=True)
    for match in _RESTORE_SPAN.finditer(text):
        span = _span(match)
        add(match, "restore", call_time + span if span else None)
    for pattern in _CREW:
        for match in pattern.finditer(text):
            span = _span(match)
            if span is None or span > timedelta(hours=24) or not _crew_context(text, match):
                continue
            add(match, "crew", call_time + span)
    return [c for _, c in sorted(found, key=lambda item: item[0])]


@dataclass(frozen=True)
class Overdue:
    """A commitment whose due time has passed without the problem being resolved in time."""

    commitment: Commitment
    late_by: timedelta
    still_open: bool

    def reason(self, weight: float = OVERDUE_WEIGHT) -> Reason:
        """承诺2小时内到场，已超时5小时 (still open) / ……，实际超时5小时 (resolved late)."""
        said = "已超时" if self.still_open else "实际超时"
        return Reason(
            OVERDUE_CODE, f"{self.commitment.describe()}，{said}{_duration_zh(self.late_by)}", weight
        )


def overdue_commitments(
    commitments: Iterable[Commitment], now: datetime, resolved_at: datetime | None = None
) -> list[Overdue]:
    """Commitments due before ``now`` and not met: the problem was not resolved by their due time.

    ``resolved_at`` is when the problem was handled (e.g. the slip's handling
    was recorded), if known. Most overdue first.
    """
    out = []
    for commitment in commitments:
        if commitment.due_at >= now:
            continue
        if resolved_at is not None and resolved_at <= commitment.due_at:
            continue
        end = resolved_at if resolved_at is not None and resolved_at < now else now
        out.append(Overdue(commitment, end - commitment.due_at, resolved_at is None or resolved_at >= now))
    return sorted(out, key=lambda o: (not o.still_open, -o.late_by.total_seconds()))


@dataclass(frozen=True)
class OverdueVerdict:
    """A problem's level after its commitments were checked at ``now``; reasons heaviest first."""

    level: str
    raised: bool
    reasons: list[Reason]
    overdue: list[Overdue]


def apply_overdue(
    level: str,
    commitments: Sequence[Commitment],
    now: datetime,
    config: RiskConfig,
    resolved_at: datetime | None = None,
) -> OverdueVerdict:
    """The overdue rule: an open overdue commitment makes the problem at least yellow, with no new call;
    one late by ``config.overdue_orange_factor`` times its own promised span or more, at least orange."""
    late = [o for o in overdue_commitments(commitments, now, resolved_at) if o.still_open]
    if not late:
        return OverdueVerdict(level, False, [], [])
    worst = late[0]
    floor = "yellow"
    if worst.late_by >= worst.commitment.span * config.overdue_orange_factor:
        floor = "orange"
    new_level = higher(level, floor)
    weight = OVERDUE_WEIGHT + (0.1 if floor == "orange" else 0.0)
    return OverdueVerdict(new_level, LEVEL_RANK[new_level] > LEVEL_RANK[level], [worst.reason(weight)], late)


def commitment_features(
    commitments: Sequence[Commitment], now: datetime, resolved_at: datetime | None = None
) -> dict[str, float]:
    """Numbers a model can read: promises made, open overdue ones, and hours the worst is overdue."""
    late = [o for o in overdue_commitments(commitments, now, resolved_at) if o.still_open]
    return {
        "commitments": float(len(commitments)),
        "commitments_overdue": float(len(late)),
        "commitment_overdue_hours": late[0].late_by.total_seconds() / 3600 if late else 0.0,
    }
