"""Per-row validation of call exports: one raw row in, a CallRecord or a reason out.

Kept separate from reading so every format (CSV, JSON Lines, Parquet) goes
through the same checks. The checks are plain Python on purpose: a 100k-call
night must validate in about a second, so no per-row pandas or pydantic.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pipeline.config import product_settings
from pipeline.labels import LABEL_ZH, LABELS
from pipeline.records import CHANNELS, CONTRACT_FIELDS, REQUIRED_FIELDS, SHANGHAI, CallRecord
from pipeline.text.turns import strip_speaker_labels

REASONS: dict[str, str] = {
    "missing_field": "缺少必填字段",
    "bad_call_time": "来电时间无法解析",
    "bad_channel": "渠道取值无效",
    "bad_duration": "通话时长无效",
    "bad_category": "标签不在分类体系内",
    "bad_escalated": "12398 升级标记无效",
    "bad_escalated_at": "12398 投诉时间无法解析",
    "empty_transcript": "通话内容为空",
    "transcript_too_long": "通话内容过长",
    "duplicate_call_id": "工单编号在本批数据中重复",
    "known_call_id": "工单编号已在以前的批次中出现",
    "bad_csv_row": "CSV 行的列数与表头不符",
    "bad_csv_quote": "CSV 行的引号不成对（本行单独隔离，下一行照常读取）",
    "bad_json": "JSON 行无法解析",
    "bad_type": "字段类型不符合约定（应为文本）",
    "bad_characters": "字段含控制字符或无效字符",
    "field_too_long": "字段超出长度上限",
    "implausible_time": "时间不在合理范围内",
    "empty_file": "文件为空",
    "no_data_rows": "文件没有数据行",
    "bad_encoding": "无法识别文件编码",
    "missing_columns": "缺少必需的列",
    "bad_parquet": "Parquet 文件无法读取",
    "bad_header": "CSV 表头无法解析",
    "unreadable": "文件无法读取",
    "bad_file": "文件无法读取",
}

TEXT_FIELDS: tuple[str, ...] = (
    "call_id",
    "customer_id",
    "phone",
    "unit",
    "area",
    "channel",
    "transcript",
    "category",
)
"""Fields the contract says are text: typed formats (Parquet, JSON) must give them as strings."""

FIELD_MAX_CHARS: dict[str, int] = {
    "call_id": 64,
    "customer_id": 64,
    "phone": 64,
    "unit": 100,
    "area": 200,
}
"""Column widths of the product database (pipeline/storage/models.py): longer values are refused here,
so validate and storage agree on both databases."""

CHANNEL_MAX_CHARS = 16
"""Width of ``calls.channel``: an unknown channel is kept as given up to this many characters."""
FREE_TEXT_FIELDS: tuple[str, ...] = ("transcript", "area", "channel")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_CONTROL_ID = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

CHANNEL_ALIASES: dict[str, str] = {
    "电话": "phone",
    "热线": "phone",
    "95598": "phone",
    "app": "app",
    "网上国网": "app",
    "手机app": "app",
    "web": "web",
    "网站": "web",
    "网页": "web",
    "wechat": "wechat",
    "微信": "wechat",
    "微信公众号": "wechat",
}

_TRUE = {"true", "1", "yes", "y", "t", "是", "1.0"}
_FALSE = {"false", "0", "no", "n", "f", "否", "0.0"}
_LABEL_FROM_ZH = {zh: code for code, zh in LABEL_ZH.items()}
_LOOSE_TIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2}(?:\.\d+)?))?秒?)?$"
)


class RowError(ValueError):
    """A row that cannot become a CallRecord; carries the reason code and a Chinese detail."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(reason_text(code, detail))


def reason_text(code: str, detail: str = "") -> str:
    """The Chinese reason shown to operators, e.g. ``缺少必填字段: phone``."""
    base = REASONS.get(code, code)
    return f"{base}: {detail}" if detail else base


@dataclass(frozen=True)
class Limits:
    """Bounds beyond which a row is treated as broken rather than unusual; set in ``[ingest]``."""

    max_transcript_chars: int = 20_000
    max_duration_s: int = 6 * 3600
    earliest: date = date(2000, 1, 1)
    max_future_days: int = 2

    @classmethod
    def from_config(cls) -> Limits:
        cfg = product_settings().ingest
        return cls(
            max_transcript_chars=cfg.max_transcript_chars,
            max_duration_s=cfg.max_duration_s,
            earliest=cfg.earliest_call_date,
            max_future_days=cfg.max_future_days,
        )

    def window(self) -> tuple[datetime, datetime]:
        """Call times outside this window are typos or placeholders (0001, 9999, 2099), not calls."""
        start = datetime.combine(self.earliest, datetime.min.time(), SHANGHAI)
        return start, datetime.now(SHANGHAI) + timedelta(days=self.max_future_days)


def as_text(value: Any) -> str:
    """A cell as stripped text; None, NaN and pandas NA become ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and math.isnan(value):
        return ""
    if type(value).__name__ in {"NAType", "NaTType"}:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_time(value: Any) -> datetime:
    """ISO-8601 (or ``2026-11-27 19:05:00``, ``2026/11/27 19:05``); no offset means Asia/Shanghai."""
    if isinstance(value, datetime):
        dt = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = as_text(value)
        if not text:
            raise ValueError("empty")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            match = _LOOSE_TIME.match(text)
            if not match:
                raise ValueError(text) from None
            y, mo, d, h, mi, s = match.groups()
            sec = float(s or 0)
            dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    return dt


def parse_bool(value: Any) -> bool | None:
    """Escalation flag: true/false, 1/0, yes/no, 是/否; empty is unknown (None)."""
    if isinstance(value, bool):
        return value
    text = as_text(value).lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)


def channel_of(value: Any) -> tuple[str, bool]:
    """The channel and whether it is one of the four known ones; other sources (12398 or 12345
    forwarded orders, letters, SMS) are kept as given, to be counted, never a reason to drop a call."""
    text = as_text(value)
    if not text:
        return "phone", True
    low = text.lower()
    if low in CHANNELS:
        return low, True
    alias = CHANNEL_ALIASES.get(low)
    if alias is not None:
        return alias, True
    return clean_free_text(text)[:CHANNEL_MAX_CHARS], False


def clean_free_text(text: str) -> str:
    """Free text without what no database column can hold (NUL, other control characters,
    lone surrogates); tabs and line breaks stay."""
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def _check_types(row: dict[str, Any]) -> None:
    for name in TEXT_FIELDS:
        value = row.get(name)
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, float) and math.isnan(value):
            continue
        kind = "二进制" if isinstance(value, bytes | bytearray | memoryview) else type(value).__name__
        hint = (
            "，数值会丢失前导零"
            if isinstance(value, int | float) and name in ("customer_id", "phone", "call_id")
            else ""
        )
        raise RowError("bad_type", f"{name} 为 {kind}{hint}")


def _check_characters(row: dict[str, Any]) -> None:
    for name in TEXT_FIELDS:
        if name in FREE_TEXT_FIELDS:
            continue
        value = row.get(name)
        if isinstance(value, str) and _CONTROL_ID.search(value.strip()):
            raise RowError("bad_characters", name)
    for name, limit in FIELD_MAX_CHARS.items():
        value = row.get(name)
        text = clean_free_text(as_text(value)) if name in FREE_TEXT_FIELDS else as_text(value)
        if len(text) > limit:
            raise RowError("field_too_long", f"{name} {len(text)} 字 > {limit}")


def _in_window(moment: datetime, limits: Limits, name: str, raw: Any, slack_days: int = 0) -> datetime:
    start, end = limits.window()
    end += timedelta(days=slack_days)
    try:
        ok = start <= moment <= end
    except (OverflowError, ValueError):
        ok = False
    if not ok:
        raise RowError("implausible_time", f"{name} {as_text(raw)[:40]}")
    return moment


def _duration(value: Any, limits: Limits) -> int | None:
    text = as_text(value)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise RowError("bad_duration", text[:30]) from None
    if not number.is_integer() or number < 0 or number > limits.max_duration_s:
        raise RowError("bad_duration", text[:30])
    return int(number)


def _category(value: Any) -> str | None:
    text = as_text(value)
    if not text:
        return None
    if text in LABELS:
        return text
    code = _LABEL_FROM_ZH.get(text)
    if code is None:
        raise RowError("bad_category", text[:30])
    return code


def validate_row(row: dict[str, Any], limits: Limits) -> CallRecord:
    """Turn one raw row into a CallRecord or raise RowError with the first problem found."""
    _check_types(row)
    missing = [name for name in REQUIRED_FIELDS if name != "transcript" and not as_text(row.get(name))]
    if missing:
        raise RowError("missing_field", ", ".join(missing))
    _check_characters(row)
    transcript = clean_free_text(as_text(row.get("transcript")))
    if not strip_speaker_labels(transcript).strip():
        raise RowError("empty_transcript")
    if len(transcript) > limits.max_transcript_chars:
        raise RowError("transcript_too_long", f"{len(transcript)} 字 > {limits.max_transcript_chars}")
    try:
        call_time = parse_time(row["call_time"])
    except (ValueError, OverflowError):
        raise RowError("bad_call_time", as_text(row["call_time"])[:40]) from None
    _in_window(call_time, limits, "call_time", row["call_time"])
    channel, _known = channel_of(row.get("channel"))
    duration = _duration(row.get("duration_s"), limits)
    category = _category(row.get("category"))
    try:
        escalated = parse_bool(row.get("escalated_12398"))
    except ValueError:
        raise RowError("bad_escalated", as_text(row.get("escalated_12398"))[:30]) from None
    escalated_at = None
    if as_text(row.get("escalated_at")):
        try:
            escalated_at = parse_time(row["escalated_at"])
        except (ValueError, OverflowError):
            raise RowError("bad_escalated_at", as_text(row["escalated_at"])[:40]) from None
        _in_window(escalated_at, limits, "escalated_at", row["escalated_at"], slack_days=90)
    extras = {key: as_text(value) for key, value in row.items() if key not in CONTRACT_FIELDS}
    return CallRecord(
        call_id=as_text(row["call_id"]),
        call_time=call_time,
        phone=as_text(row["phone"]),
        unit=as_text(row["unit"]),
        transcript=transcript,
        customer_id=as_text(row.get("customer_id")) or None,
        area=clean_free_text(as_text(row.get("area"))) or None,
        channel=channel,
        duration_s=duration,
        extras=extras,
        category=category,
        escalated_12398=escalated,
        escalated_at=escalated_at,
    )
