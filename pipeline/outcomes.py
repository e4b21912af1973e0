"""12398 outcomes: the regulator's forwarded complaints matched to the customer's problem and slip.

A forwarded complaint (转办编号, 受理时间, 户号, 联系电话, 供电单位, 诉求内容) names
the customer by account and/or phone, the phone often masked (138****1234).
Matching, strongest evidence first:

1. identity: the account or full phone as :mod:`pipeline.identity` keys it
   (``account:…`` / ``phone:…`` links and their aliases, plus the plain
   ``customer_hash`` calls were stored under before identity links); only when
   neither finds a call, the masked phone within the same supply unit;
2. time: calls before 受理时间 and within the escalation horizon;
3. problem: each candidate call's problem (:func:`problem_calls`, the one
   place that says which stored calls form a problem);
4. text: character-bigram cosine of 诉求内容 with the problem's (masked)
   customer turns decides between several problems, and must clear a floor
   for a masked-phone match.

One problem found is a match; several without a clear winner, or a weak
masked-phone match, is ambiguous (a person decides); none is unmatched.
A match marks the slip (``escalated_12398``, ``escalated_at``, audited) and
labels every call of the problem as an escalation. Rows are keyed by 转办编号:
a row already imported is skipped, so importing a file twice changes nothing.
Only keyed hashes and masked forms of the numbers are stored or printed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.config import horizon_days, section
from pipeline.identity import aliases
from pipeline.records import SHANGHAI
from pipeline.storage.db import customer_hash
from pipeline.storage.identity import IdentityLink
from pipeline.storage.models import Call, Slip, SlipCall, SlipEvent
from pipeline.storage.outcomes import Label, Outcome12398
from pipeline.storage.types import utcnow
from pipeline.text.mask import mask_account, mask_phone, mask_pii
from pipeline.text.normalize import normalize
from pipeline.text.prepare import customer_text

COLUMNS: tuple[str, ...] = ("转办编号", "受理时间", "户号", "联系电话", "供电单位", "诉求内容")
PROBLEM_DAYS = 30
DEFAULT_AUTHOR = "12398导入"
STATUS_ZH: dict[str, str] = {"matched": "已匹配", "ambiguous": "待人工确认", "unmatched": "未匹配"}


class OutcomeError(Exception):
    """An outcomes file that cannot be read; one Chinese line."""


@dataclass(frozen=True)
class OutcomeConfig:
    """``[outcomes]`` in complaints.toml: how sure a match must be, and the interview (约谈) thresholds."""

    match_min_similarity: float = 0.12
    match_margin: float = 0.05
    interview_min_complaints: int = 3
    interview_min_per_million: float = 5.0


def load_outcome_config(**overrides: Any) -> OutcomeConfig:
    """The ``[outcomes]`` table over the defaults (validated by pipeline.config)."""
    values = {k: v for k, v in section("outcomes").items() if v is not None}
    return OutcomeConfig(**(values | overrides))


@dataclass
class OutcomeRow:
    """One forwarded complaint; ``account`` and ``phone`` are raw only in memory."""

    row_number: int
    ticket_no: str
    received_at: datetime
    account: str
    phone: str
    unit: str
    text: str

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone) if self.phone else ""

    @property
    def phone_is_masked(self) -> bool:
        return "*" in self.phone

    def who(self) -> str:
        """The customer as an output may show them: masked phone and/or masked account."""
        parts = [p for p in (self.phone_masked, mask_account(self.account) if self.account else "") if p]
        return " / ".join(parts) or "—"


@dataclass
class BadRow:
    row_number: int
    ticket_no: str
    reason: str


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _parse_time(value: str) -> datetime | None:
    try:
        moment = pd.Timestamp(value).to_pydatetime()
    except (ValueError, TypeError):
        return None
    if moment is None or pd.isna(moment):
        return None
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment


def read_outcomes(path: str | Path) -> tuple[list[OutcomeRow], list[BadRow]]:
    """Rows of a 12398 file (CSV in UTF-8/GBK, or Excel); rows without a ticket or a time are bad rows."""
    path = Path(path)
    if not path.is_file():
        raise OutcomeError(f"找不到文件 {path.name}")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(path, dtype=str)
        else:
            from pipeline.ingest import IngestError, decode_export

            try:
                text = decode_export(path.read_bytes(), path.name)
            except IngestError as exc:
                raise OutcomeError(str(exc)) from None
            import io

            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except OutcomeError:
        raise
    except Exception as exc:
        raise OutcomeError(f"无法读取 12398 转办文件 {path.name}: {type(exc).__name__}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise OutcomeError(f"12398 转办文件 {path.name} 缺少列: {'、'.join(missing)}")
    rows: list[OutcomeRow] = []
    bad: list[BadRow] = []
    for number, raw in enumerate(frame.to_dict("records"), start=2):
        values = {c: _cell(raw.get(c)) for c in COLUMNS}
        ticket = values["转办编号"]
        when = _parse_time(values["受理时间"]) if values["受理时间"] else None
        if not ticket:
            bad.append(BadRow(number, "", "缺少转办编号"))
            continue
        if when is None:
            bad.append(BadRow(number, ticket, "受理时间无法识别"))
            continue
        if not (values["户号"] or values["联系电话"]):
            bad.append(BadRow(number, ticket, "户号和联系电话均为空"))
            continue
        rows.append(
            OutcomeRow(
                number,
                ticket,
                when,
                "".join(values["户号"].split()),
                "".join(values["联系电话"].split()),
                values["供电单位"],
                values["诉求内容"],
            )
        )
    return rows, bad


# -- the problem of a call ------------------------------------------------------------------------


@dataclass
class ProblemRef:
    """The stored calls that form one customer problem, and its slip if it has one."""

    ref: str
    slip: Slip | None
    calls: list[Call]


def problem_calls(session: Session, call: Call) -> ProblemRef:
    """Which stored calls (and slip) form the problem of this call.

    The calls sharing its stored ``problem_id`` (nightly scoring groups them), with the problem's
    slip; for a call stored before problems were (no ``problem_id``): the slip's calls, else the
    same customer's slip-less calls of the same category within 30 days, named by its first call.
    """
    if call.problem_id:
        calls = list(
            session.scalars(select(Call).where(Call.problem_id == call.problem_id).order_by(Call.call_time))
        )
        slip = session.scalars(
            select(Slip).where(Slip.problem_id == call.problem_id).order_by(Slip.created_at.desc()).limit(1)
        ).first()
        if slip is None and call.slip_id is not None:
            slip = session.get(Slip, call.slip_id)
        return ProblemRef(slip.slip_no if slip else call.problem_id, slip, calls or [call])
    slip_id = call.slip_id or session.scalar(
        select(SlipCall.slip_id).where(SlipCall.call_id == call.id).order_by(SlipCall.added_at).limit(1)
    )
    if slip_id is not None:
        slip = session.get(Slip, slip_id)
        calls = list(
            session.scalars(
                select(Call)
                .join(SlipCall, SlipCall.call_id == Call.id)
                .where(SlipCall.slip_id == slip_id)
                .order_by(Call.call_time)
            )
        )
        return ProblemRef(slip.slip_no if slip else str(slip_id), slip, calls or [call])
    span = timedelta(days=PROBLEM_DAYS)
    calls = list(
        session.scalars(
            select(Call)
            .where(
                Call.customer_key == call.customer_key,
                Call.category == call.category,
                Call.slip_id.is_(None),
                Call.call_time >= call.call_time - span,
                Call.call_time <= call.call_time + span,
            )
            .order_by(Call.call_time, Call.call_id)
        )
    )
    calls = calls or [call]
    return ProblemRef(calls[0].call_id, None, calls)


# -- text similarity -------------------------------------------------------------------------------

_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


def _bigrams(text: str) -> Counter[str]:
    chars = "".join(_KEEP.findall(normalize(text or "")))
    return Counter(chars[i : i + 2] for i in range(len(chars) - 1))


def similarity(a: str, b: str) -> float:
    """Cosine of character-bigram counts: robust to ASR slips and to 12398's rewording."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    dot = sum(v * y.get(k, 0) for k, v in x.items())
    return dot / math.sqrt(sum(v * v for v in x.values()) * sum(v * v for v in y.values()))


def problem_similarity(text: str, problem: ProblemRef) -> float:
    """The best similarity of the complaint text with any call of the problem (customer turns, masked)."""
    masked = mask_pii(text)
    return max(
        (similarity(masked, customer_text(c.transcript) or c.transcript) for c in problem.calls), default=0.0
    )


# -- matching --------------------------------------------------------------------------------------


@dataclass
class Candidate:
    problem: ProblemRef
    similarity: float
    evidence: str  # account / phone / masked


@dataclass
class Match:
    """The verdict on one row: ``matched`` (with ``best``), ``ambiguous`` or ``unmatched``, and why."""

    status: str
    best: Candidate | None
    candidates: list[Candidate] = field(default_factory=list)
    why: str = ""


def _strong_ids(session: Session, row: OutcomeRow) -> tuple[set[str], str]:
    """Customer ids the row's account / full phone belong to (identity links, aliases, the plain hash)."""
    ids: set[str] = set()
    evidence = ""
    keys: list[tuple[str, str]] = []
    if row.account:
        keys.append(("account", row.account))
    if row.phone and not row.phone_is_masked:
        keys.append(("phone", row.phone))
    for kind, value in keys:
        ids.add(customer_hash(value))
        link = session.scalar(
            select(IdentityLink).where(IdentityLink.key_hash == customer_hash(f"{kind}:{value}"))
        )
        if link is not None:
            ids.add(link.customer_id)
        evidence = evidence or kind
    if ids:
        for found in aliases(session, ids).values():
            ids |= found
    return ids, evidence


def candidate_calls(session: Session, row: OutcomeRow, horizon: int) -> tuple[list[Call], str]:
    """Calls before 受理时间 within the horizon, by identity; by masked phone + unit only when identity finds none."""
    start = row.received_at - timedelta(days=horizon)
    window = (Call.call_time <= row.received_at, Call.call_time >= start)
    ids, evidence = _strong_ids(session, row)
    if ids:
        calls = list(session.scalars(select(Call).where(Call.customer_key.in_(sorted(ids)), *window)))
        if calls:
            return calls, evidence
    if row.phone and row.unit:
        calls = list(
            session.scalars(
                select(Call).where(Call.phone_masked == row.phone_masked, Call.unit == row.unit, *window)
            )
        )
        if calls:
            return calls, "masked"
    return [], ""


def match_row(
    session: Session, row: OutcomeRow, config: OutcomeConfig | None = None, horizon: int | None = None
) -> Match:
    """Match one forwarded complaint to a stored problem (reads only)."""
    config = config or load_outcome_config()
    calls, evidence = candidate_calls(session, row, horizon or horizon_days())
    if not calls:
        return Match("unmatched", None, [], "没有找到该客户在受理时间之前的来电")
    problems: dict[str, ProblemRef] = {}
    for call in sorted(calls, key=lambda c: c.call_time):
        if any(call in p.calls for p in problems.values()):
            continue
        problem = problem_calls(session, call)
        problems.setdefault(problem.ref, problem)
    ranked = sorted(
        (Candidate(p, problem_similarity(row.text, p), evidence) for p in problems.values()),
        key=lambda c: (-c.similarity, c.problem.slip is None, c.problem.ref),
    )
    best = ranked[0]
    if evidence == "masked" and best.similarity < config.match_min_similarity:
        return Match("ambiguous", None, ranked, "仅凭脱敏手机号匹配，诉求内容与来电不够相似")
    if len(ranked) > 1 and best.similarity - ranked[1].similarity < config.match_margin:
        return Match("ambiguous", None, ranked, f"该客户有 {len(ranked)} 个问题，诉求内容无法区分")
    return Match("matched", best, ranked, "")


# -- import ----------------------------------------------------------------------------------------


@dataclass
class RowResult:
    row: OutcomeRow
    status: str  # matched / ambiguous / unmatched / skipped
    slip_no: str | None = None
    problem_ref: str | None = None
    why: str = ""


@dataclass
class ImportResult:
    rows: list[RowResult] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


def _escalate(
    session: Session, outcome: Outcome12398, row: OutcomeRow, best: Candidate, by: str, now: datetime
) -> None:
    """Mark the problem's slip and label its calls as an escalation."""
    problem, slip = best.problem, best.problem.slip
    if slip is not None:
        if not slip.escalated_12398 or (slip.escalated_at and row.received_at < slip.escalated_at):
            slip.escalated_12398 = True
            slip.escalated_at = row.received_at
            slip.updated_at = now
        session.add(
            SlipEvent(
                slip=slip,
                at=now,
                by=by,
                action="escalated_12398",
                from_status=slip.status,
                to_status=slip.status,
                note=f"12398 转办编号 {row.ticket_no}，受理时间 {row.received_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
                details={"ticket_no": row.ticket_no, "similarity": round(best.similarity, 3)},
            )
        )
    for call in problem.calls:
        session.add(
            Label(
                call_id=call.call_id,
                slip_id=slip.id if slip is not None else None,
                problem_ref=problem.ref,
                kind="escalation",
                value="1",
                source="outcome_12398",
                author=by,
                at=now,
                observed_at=row.received_at,
                outcome=outcome,
            )
        )


def import_outcomes(
    session: Session,
    path: str | Path,
    *,
    by: str = DEFAULT_AUTHOR,
    config: OutcomeConfig | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Read, match and store a 12398 file; rows already imported (by 转办编号) are skipped. Flushes, never commits."""
    config = config or load_outcome_config()
    now = now or utcnow()
    rows, bad = read_outcomes(path)
    result = ImportResult(bad=bad)
    tickets = sorted({r.ticket_no for r in rows})
    seen: set[str] = set()
    for start in range(0, len(tickets), 500):
        chunk = tickets[start : start + 500]
        seen |= set(session.scalars(select(Outcome12398.ticket_no).where(Outcome12398.ticket_no.in_(chunk))))
    horizon = horizon_days()
    for row in rows:
        if row.ticket_no in seen:
            result.rows.append(RowResult(row, "skipped", why="已导入过"))
            continue
        seen.add(row.ticket_no)
        match = match_row(session, row, config, horizon)
        best = match.best
        outcome = Outcome12398(
            ticket_no=row.ticket_no,
            received_at=row.received_at,
            unit=row.unit,
            account_hash=customer_hash(f"account:{row.account}") if row.account else None,
            phone_hash=customer_hash(f"phone:{row.phone}") if row.phone and not row.phone_is_masked else None,
            phone_masked=row.phone_masked or None,
            text_masked=mask_pii(row.text),
            status=match.status,
            slip_id=best.problem.slip.id if best and best.problem.slip else None,
            call_id=best.problem.calls[-1].call_id if best else None,
            problem_ref=best.problem.ref if best else None,
            similarity=round(best.similarity, 4) if best else None,
            candidates=[
                {"ref": c.problem.ref, "similarity": round(c.similarity, 4)} for c in match.candidates[:10]
            ],
            source=Path(path).name,
            imported_at=now,
        )
        session.add(outcome)
        if best is not None:
            _escalate(session, outcome, row, best, by, now)
        result.rows.append(
            RowResult(
                row,
                match.status,
                best.problem.slip.slip_no if best and best.problem.slip else None,
                best.problem.ref if best else None,
                match.why,
            )
        )
    session.flush()
    return result


def summary_lines(result: ImportResult) -> list[str]:
    """What the import did, in Chinese, every customer number masked."""
    lines = [
        f"已匹配 {result.count('matched')} 条，待人工确认 {result.count('ambiguous')} 条，"
        f"未匹配 {result.count('unmatched')} 条，已导入过跳过 {result.count('skipped')} 条，"
        f"无法读取 {len(result.bad)} 条"
    ]
    for r in result.rows:
        if r.status == "skipped":
            continue
        target = (
            f"预警单 {r.slip_no}"
            if r.slip_no
            else (f"问题 {r.problem_ref}（无预警单）" if r.problem_ref else "")
        )
        detail = "；".join(p for p in (target, r.why) if p)
        lines.append(
            f"第 {r.row.row_number} 行 {r.row.ticket_no} {r.row.unit} {r.row.who()}：{STATUS_ZH[r.status]}"
            + (f"（{detail}）" if detail else "")
        )
    for b in result.bad:
        lines.append(f"第 {b.row_number} 行 {b.ticket_no or '—'}：无法读取（{b.reason}）")
    return lines
