"""Risk-warning slips (投诉风险预警单): one per customer problem, worked from issue to closure.

Two writers touch a slip: the nightly scoring (:func:`record_call` opens,
updates or reopens it) and people in the web app or CLI (:func:`apply_action`
moves it through ``issued → acknowledged → in_progress → callback → closed``).
Every change appends a row to the audit trail. Slips carry a version column,
so two people saving the same slip at once cannot silently overwrite each
other; on PostgreSQL the row is also locked (SELECT ... FOR UPDATE) while an
action runs. Functions here flush but never commit: the caller owns the
transaction (and must roll back after a :class:`SlipActionError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pipeline.corrections import label_false_alarm
from pipeline.ledger import (
    CALLBACK_RESULTS,
    OPEN_STATUSES,
    SATISFIED,
    SYSTEM_EVENTS,
    Action,
    Status,
    has_new_handling,
    last_handler,
    local_time,
)
from pipeline.risk.config import RiskConfig, load_risk_config
from pipeline.risk.levels import LEVEL_RANK, floor_score, higher, raise_level
from pipeline.risk.reasons import merge_reason_dicts
from pipeline.storage.models import SLIP_STATUS_ZH, Call, Slip, SlipCall, SlipEvent
from pipeline.storage.types import utcnow
from pipeline.text.mask import mask_pii

SYSTEM_ACTIONS: dict[str, str] = SYSTEM_EVENTS
SYSTEM_USER = "system"

_FROM_STATUSES: dict[Action, tuple[Status, ...]] = {
    Action.ACKNOWLEDGE: (Status.ISSUED,),
    Action.HANDLE: (Status.ACKNOWLEDGED, Status.IN_PROGRESS),
    Action.CALLBACK: (Status.IN_PROGRESS,),
    Action.CLOSE: (Status.CALLBACK,),
    Action.ESCALATE: OPEN_STATUSES,
    Action.ASSIGN: OPEN_STATUSES,
    Action.FALSE_ALARM: tuple(Status),
}
_HINTS: dict[Action, str] = {
    Action.ACKNOWLEDGE: "只有已下发的预警单可以签收",
    Action.HANDLE: "请先签收，签收后才能记录处理情况",
    Action.CALLBACK: "请先记录处理情况，处理中的预警单才能回访",
    Action.CLOSE: "须先完成回访且客户满意或基本满意才能销号",
    Action.ESCALATE: "已销号的预警单不能提级督办",
    Action.ASSIGN: "已销号的预警单不能转派",
    Action.FALSE_ALARM: "",
}
_LEVEL_ACTIONS: dict[str, list[str]] = {
    "red": ["提级督办", "24小时内现场调查", "主管领导回访"],
    "orange": ["现场调查", "48小时内回访"],
    "yellow": ["电话回访", "核实处理进度"],
}
_REASON_ACTIONS: dict[str, str] = {
    "threat_regulator": "主动联系客户说明处理进度，防止越级投诉",
    "threat_other": "主动联系客户说明处理进度，防止越级投诉",
    "vulnerable": "优先安排抢修或上门服务",
    "loss": "核实客户损失并告知理赔途径",
    "wide_incident": "核查台区/线路故障，统一发布恢复信息",
    "unsatisfied_callback": "由上级单位复核前次处理结果",
    "missed_commitment": "兑现前次承诺并向客户说明原因",
    "reopened": "核查销号后问题复发原因",
}


class SlipActionError(Exception):
    """An action that is not allowed now; the message (Chinese) is shown to the user as is."""


class SlipNotFoundError(SlipActionError):
    """No slip with that number."""


def recommended_actions(level: str, reason_codes: Sequence[str], supervised: bool = False) -> list[str]:
    """What the supply unit should do, from the level and the reasons (no duplicates, level first)."""
    actions = list(_LEVEL_ACTIONS.get(level, []))
    if supervised and "提级督办" not in actions:
        actions.insert(0, "提级督办")
    for code in reason_codes:
        action = _REASON_ACTIONS.get(code)
        if action and action not in actions:
            actions.append(action)
    return actions


def due_at_for(level: str, start: datetime, config: RiskConfig) -> datetime:
    """The deadline a slip of ``level`` opened at ``start`` must be closed by."""
    return start + timedelta(hours=config.due_hours.get(level, config.due_hours["yellow"]))


def allowed_actions(slip: Slip) -> list[str]:
    """The actions a person may take on the slip now (the web app shows these as buttons);
    no callback until handling has been recorded since the previous one."""
    actions = [action for action, statuses in _FROM_STATUSES.items() if slip.status in statuses]
    if Action.CALLBACK in actions and not has_new_handling(slip.events):
        actions.remove(Action.CALLBACK)
    if slip.false_alarm:
        actions.remove(Action.FALSE_ALARM)
    return [action.value for action in actions]


def get_slip(session: Session, slip_no: str, *, lock: bool = False) -> Slip:
    """The slip with this number; ``lock`` takes a row lock on PostgreSQL for the rest of the transaction."""
    query = select(Slip).where(Slip.slip_no == slip_no).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    slip = session.scalars(query).one_or_none()
    if slip is None:
        raise SlipNotFoundError(f"预警单 {slip_no} 不存在")
    return slip


def _event(
    session: Session,
    slip: Slip,
    action: str,
    by: str,
    from_status: str | None,
    note: str | None,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        SlipEvent(
            slip=slip,
            at=at,
            by=by,
            action=action,
            from_status=from_status,
            to_status=slip.status,
            note=note,
            details=details or {},
        )
    )


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise SlipActionError("预警单已被他人同时修改，请刷新后重试") from exc


def _raise_slip(slip: Slip, config: RiskConfig, now: datetime) -> dict[str, Any]:
    """One level up, score and deadline to match; returns what changed for the audit row."""
    before = {"level": slip.level, "score": slip.score}
    slip.level = raise_level(slip.level)
    slip.score = floor_score(slip.level, slip.score, config)
    slip.due_at = min(slip.due_at, due_at_for(slip.level, now, config))
    return {"from": before, "to": {"level": slip.level, "score": slip.score}}


def _events(session: Session, slip: Slip) -> list[SlipEvent]:
    return list(session.scalars(select(SlipEvent).where(SlipEvent.slip_id == slip.id).order_by(SlipEvent.id)))


def apply_action(
    session: Session,
    slip_no: str,
    action: str,
    by: str,
    note: str | None,
    callback_result: str | None = None,
    *,
    assignee: str | None = None,
    now: datetime | None = None,
    config: RiskConfig | None = None,
) -> Slip:
    """Apply a person's action to a slip, append the audit row and flush; the caller commits.

    The closing loop cannot be shortcut: a callback needs handling recorded after the previous
    callback, and must be recorded by someone other than the person who did the latest handling.
    """
    try:
        act = Action(action)
    except ValueError:
        raise SlipActionError(
            f"未知操作 {action}，可用操作: {'、'.join(f'{a.value}({a.zh})' for a in Action)}"
        ) from None
    if not by or not by.strip():
        raise SlipActionError("必须填写操作人")
    by = by.strip()
    config = config or load_risk_config()
    now = now or utcnow()
    note = note.strip() if note and note.strip() else None
    slip = get_slip(session, slip_no, lock=True)
    if slip.status == Status.CLOSED and act not in (Action.CLOSE, Action.FALSE_ALARM):
        raise SlipActionError(f"预警单 {slip_no} 已销号，不能{act.zh}")
    if slip.status not in _FROM_STATUSES[act]:
        raise SlipActionError(
            f"预警单 {slip_no} 当前状态为{SLIP_STATUS_ZH[slip.status]}，不能{act.zh}：{_HINTS[act]}"
        )
    from_status = slip.status
    details: dict[str, Any] = {}
    if act is Action.ACKNOWLEDGE:
        slip.status = Status.ACKNOWLEDGED.value
        if not slip.assignee:
            slip.assignee = by
            details["assignee"] = by
    elif act is Action.HANDLE:
        if not note:
            raise SlipActionError("记录处理情况时必须填写处理说明")
        entry = f"{local_time(now)} {by}：{note}"
        slip.handling_note = f"{slip.handling_note}\n{entry}" if slip.handling_note else entry
        slip.status = Status.IN_PROGRESS.value
    elif act is Action.CALLBACK:
        if callback_result not in CALLBACK_RESULTS:
            raise SlipActionError(f"回访结果须为{'、'.join(CALLBACK_RESULTS)}之一")
        events = _events(session, slip)
        if not slip.handling_note or not has_new_handling(events):
            raise SlipActionError("上次回访后尚未记录新的处理情况，请先记录处理再回访")
        if last_handler(events) == by:
            raise SlipActionError("回访须由处理人以外的人员记录")
        slip.callback_result = callback_result
        details["callback_result"] = callback_result
        if callback_result in SATISFIED:
            slip.status = Status.CALLBACK.value
        else:
            slip.status = Status.IN_PROGRESS.value
            details["raised"] = _raise_slip(slip, config, now)
            slip.reasons = merge_reason_dicts(
                slip.reasons,
                [{"code": "unsatisfied_callback", "text": "本预警单回访客户不满意", "weight": 1.0}],
                config.max_reasons,
            )
            slip.recommended_actions = recommended_actions(
                slip.level, [r["code"] for r in slip.reasons], slip.supervised
            )
    elif act is Action.CLOSE:
        if not slip.handling_note:
            raise SlipActionError("没有处理记录，不能销号")
        if slip.callback_result not in SATISFIED:
            raise SlipActionError("回访结果为满意或基本满意后才能销号")
        slip.status = Status.CLOSED.value
        slip.closed_at = now
    elif act is Action.ESCALATE:
        if slip.supervised:
            raise SlipActionError(f"预警单 {slip_no} 已提级督办")
        slip.supervised = True
        details["raised"] = _raise_slip(slip, config, now)
        slip.recommended_actions = recommended_actions(
            slip.level, [r["code"] for r in slip.reasons], supervised=True
        )
    elif act is Action.ASSIGN:
        assignee = (assignee or "").strip()
        if not assignee:
            raise SlipActionError("转派时必须选择处理人")
        if assignee == slip.assignee:
            raise SlipActionError(f"预警单 {slip_no} 的处理人已是 {assignee}")
        details["assignee"] = {"from": slip.assignee, "to": assignee}
        slip.assignee = assignee
    elif act is Action.FALSE_ALARM:
        if slip.false_alarm:
            raise SlipActionError(f"预警单 {slip_no} 已标记为误报")
        if not note:
            raise SlipActionError("标记误报时必须填写原因")
        note = mask_pii(note)
        slip.false_alarm = True
        slip.false_alarm_reason = note
        details["false_alarm"] = True
        details["labels"] = label_false_alarm(session, slip, by, note, now)
    slip.updated_at = now
    _event(session, slip, act.value, by, from_status, note, now, details)
    _flush(session)
    return slip


def _next_slip_no(session: Session, night: date) -> str:
    prefix = f"YJ{night:%Y%m%d}-"
    last = session.scalar(select(func.max(Slip.slip_no)).where(Slip.slip_no.like(f"{prefix}%")))
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:04d}"


def find_problem_slip(
    session: Session, customer_key: str, category: str, problem_id: str | None = None
) -> Slip | None:
    """The newest slip on this problem, open or closed: by problem id, else (a slip issued before
    problems were stored) by customer and category."""
    conditions = [Slip.customer_key == customer_key, Slip.category == category, Slip.problem_id.is_(None)]
    for where in ([Slip.problem_id == problem_id], conditions) if problem_id else (conditions,):
        query = (
            select(Slip)
            .where(*where)
            .order_by(Slip.created_at.desc(), Slip.id.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        slip = session.scalars(query).first()
        if slip is not None:
            return slip
    return None


def _new_slip(
    session: Session,
    latest: Call,
    night: date,
    *,
    category: str,
    problem_id: str | None,
    level: str,
    score: float,
    reasons: Sequence[dict[str, Any]],
    now: datetime,
    config: RiskConfig,
    first_call_at: datetime,
    call_count: int,
) -> Slip:
    """A freshly issued slip for a problem whose latest call is ``latest`` (customer, unit, place from it)."""
    return Slip(
        slip_no=_next_slip_no(session, night),
        unit=latest.unit,
        customer_key=latest.customer_key,
        customer_masked=latest.customer_masked,
        area=latest.area,
        category=category,
        problem_id=problem_id,
        level=level,
        score=score,
        reasons=list(reasons),
        recommended_actions=recommended_actions(level, [r["code"] for r in reasons]),
        status="issued",
        due_at=due_at_for(level, now, config),
        created_at=now,
        updated_at=now,
        first_call_at=first_call_at,
        last_call_at=latest.call_time,
        call_count=call_count,
    )


def record_call(
    session: Session,
    call: Call,
    night: date,
    *,
    now: datetime | None = None,
    config: RiskConfig | None = None,
    problem_category: str | None = None,
) -> Slip | None:
    """Attach a scored call to its problem's slip: update an open one, reopen a recently closed one,
    or issue a new one when the call's own level calls for it. Returns the slip, or None.

    ``problem_category`` is the problem's category (from all its calls' probabilities), which a
    new slip carries even when this call was classified otherwise."""
    config = config or load_risk_config()
    now = now or utcnow()
    category = problem_category or call.category
    slip = find_problem_slip(session, call.customer_key, category, call.problem_id)
    reopen = (
        slip is not None
        and slip.status == "closed"
        and slip.closed_at is not None
        and call.call_time - slip.closed_at <= timedelta(days=config.reopen_days)
    )
    if slip is not None and (slip.is_open or reopen):
        from_status = slip.status
        before = slip.level
        if reopen:
            slip.status = "issued"
            slip.closed_at = None
            slip.callback_result = None
            slip.reopen_count += 1
        new_level = higher(slip.level, call.risk_level)
        if reopen:
            new_level = higher(new_level, "yellow")
        slip.level = new_level
        slip.score = floor_score(new_level, max(slip.score, call.escalation_score), config)
        slip.reasons = merge_reason_dicts(slip.reasons, call.reasons, config.max_reasons)
        slip.recommended_actions = recommended_actions(
            slip.level, [r["code"] for r in slip.reasons], slip.supervised
        )
        if reopen or LEVEL_RANK[new_level] > LEVEL_RANK[before]:
            slip.due_at = (
                due_at_for(slip.level, now, config)
                if reopen
                else min(slip.due_at, due_at_for(slip.level, now, config))
            )
        slip.last_call_at = max(slip.last_call_at, call.call_time)
        slip.first_call_at = min(slip.first_call_at, call.call_time)
        slip.call_count += 1
        slip.updated_at = now
        slip.calls.append(SlipCall(call=call, added_at=now))
        call.slip = slip
        action = "reopen" if reopen else "new_call"
        note = "销号后客户再次来电，预警单重新打开" if reopen else "同一问题新来电，已并入本预警单"
        details = {"call_id": call.call_id, "level_from": before, "level_to": slip.level}
        _event(session, slip, action, SYSTEM_USER, from_status, note, now, details)
        _flush(session)
        return slip
    if call.risk_level == "none":
        return None
    slip = _new_slip(
        session,
        call,
        night,
        category=category,
        problem_id=call.problem_id,
        level=call.risk_level,
        score=call.escalation_score,
        reasons=call.reasons,
        now=now,
        config=config,
        first_call_at=call.call_time,
        call_count=1,
    )
    slip.calls.append(SlipCall(call=call, added_at=now))
    session.add(slip)
    call.slip = slip
    _event(
        session,
        slip,
        "create",
        SYSTEM_USER,
        None,
        "系统根据来电风险生成预警单",
        now,
        {"call_id": call.call_id},
    )
    _flush(session)
    return slip


def rescore_problem(
    session: Session,
    problem_id: str,
    *,
    level: str,
    score: float,
    reasons: Sequence[dict[str, Any]],
    category: str,
    night: date | None,
    now: datetime | None = None,
    config: RiskConfig | None = None,
) -> Slip | None:
    """A quiet problem re-scored at night: raise its open slip when the new level is higher, or issue
    a slip on its latest call when it has none. A closed slip is not reopened without a call.
    Returns the slip changed or issued, or None."""
    config = config or load_risk_config()
    now = now or utcnow()
    calls = list(
        session.scalars(select(Call).where(Call.problem_id == problem_id).order_by(Call.call_time, Call.id))
    )
    if not calls or level == "none":
        return None
    latest = calls[-1]
    slip = find_problem_slip(session, latest.customer_key, category, problem_id)
    if slip is not None and not slip.is_open:
        return None
    if slip is not None:
        if LEVEL_RANK[level] <= LEVEL_RANK[slip.level]:
            return None
        before = {"level": slip.level, "score": slip.score}
        slip.level = level
        slip.score = floor_score(level, max(slip.score, score), config)
        slip.due_at = min(slip.due_at, due_at_for(level, now, config))
        slip.reasons = merge_reason_dicts(slip.reasons, reasons, config.max_reasons)
        slip.recommended_actions = recommended_actions(
            slip.level, [r["code"] for r in slip.reasons], slip.supervised
        )
        slip.updated_at = now
        details = {"from": before, "to": {"level": slip.level, "score": slip.score}}
        _event(
            session, slip, "rescore", SYSTEM_USER, slip.status, "夜间复评：无新来电，风险升高", now, details
        )
        _flush(session)
        return slip
    if not reasons:
        return None
    slip = _new_slip(
        session,
        latest,
        night or latest.night,
        category=category,
        problem_id=problem_id,
        level=level,
        score=floor_score(level, score, config),
        reasons=reasons,
        now=now,
        config=config,
        first_call_at=calls[0].call_time,
        call_count=len(calls),
    )
    for call in calls:
        if call.slip_id is None:
            slip.calls.append(SlipCall(call=call, added_at=now))
            call.slip = slip
    session.add(slip)
    _event(
        session,
        slip,
        "rescore",
        SYSTEM_USER,
        None,
        "夜间复评：该问题今晚无新来电，系统根据问题进展生成预警单",
        now,
        {"problem_id": problem_id},
    )
    _flush(session)
    return slip
