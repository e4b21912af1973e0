"""One slip as the detail page and the API show it, and actions on it, with access checks first.

Pages and API share this so both enforce the same rules in the same order:
a slip the user may not see is "not found"; an action the role may not take
is "forbidden"; an action the slip's state does not allow is a conflict with
the Chinese message from :mod:`pipeline.slips`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from pipeline import corrections, ledger
from pipeline import slips as slip_api
from pipeline.labels import LABEL_ZH, RISK_LEVEL_ZH
from pipeline.ledger import Action, LedgerConfig, due_state, is_overdue, remaining_zh
from pipeline.storage.models import SLIP_STATUS_ZH, Call, Slip, SlipCall, SlipEvent, User
from pipeline.text.mask import mask_pii
from pipeline.text.turns import Turn, split_turns
from webapp.access import can_act, can_see, can_write, scope_calls, scope_slips
from webapp.highlight import reason_terms, signal_terms
from webapp.queue import assignable_users

HISTORY_LIMIT = 50


class NotFound(Exception):
    """No such slip, or one the user may not see."""


class Forbidden(Exception):
    """The user's role may not take this action."""


class Conflict(Exception):
    """The slip's state (or a concurrent change) does not allow the action; message in Chinese."""


def split_display_turns(transcript: str) -> list[Turn]:
    """Transcript lines with their speaker for the chat-style display (labels as pipeline.text.turns reads them)."""
    return split_turns(transcript, merge=False)


def visible_slip(session: Session, user: User, slip_no: str) -> Slip:
    """The slip if it exists and the user may see it; NotFound otherwise (also for other units' slips)."""
    slip = session.scalar(scope_slips(select(Slip).where(Slip.slip_no == slip_no), user))
    if slip is None or not can_see(user, slip):
        raise NotFound(slip_no)
    return slip


def slip_calls(session: Session, slip: Slip) -> list[Call]:
    """The calls gathered on the slip, oldest first."""
    query = (
        select(Call).join(SlipCall, SlipCall.call_id == Call.id).where(SlipCall.slip_id == slip.id)
    ).order_by(Call.call_time)
    return list(session.scalars(query))


def slip_events(session: Session, slip: Slip) -> list[SlipEvent]:
    """The audit trail, oldest first."""
    return list(session.scalars(select(SlipEvent).where(SlipEvent.slip_id == slip.id).order_by(SlipEvent.id)))


def customer_history(session: Session, user: User, slip: Slip) -> list[dict[str, Any]]:
    """The customer's calls and slips (all problems) as one timeline, newest first."""
    calls = session.scalars(
        scope_calls(select(Call).where(Call.customer_key == slip.customer_key), user)
        .order_by(Call.call_time.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    others = session.scalars(
        scope_slips(select(Slip).where(Slip.customer_key == slip.customer_key), user)
        .order_by(Slip.created_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    items: list[dict[str, Any]] = [
        {
            "kind": "call",
            "at": c.call_time,
            "title": f"来电 · {LABEL_ZH.get(c.category, c.category)}",
            "detail": f"工单 {c.call_id}，风险 {RISK_LEVEL_ZH.get(c.risk_level, c.risk_level)}",
            "on_this_slip": c.slip_id == slip.id,
            "level": c.risk_level,
        }
        for c in calls
    ]
    items += [
        {
            "kind": "slip",
            "at": s.created_at,
            "title": f"预警单 {s.slip_no} · {LABEL_ZH.get(s.category, s.category)}",
            "detail": f"{RISK_LEVEL_ZH.get(s.level, s.level)}预警，{SLIP_STATUS_ZH.get(s.status, s.status)}"
            + (f"，回访{s.callback_result}" if s.callback_result else ""),
            "on_this_slip": s.id == slip.id,
            "level": s.level,
            "slip_no": s.slip_no,
        }
        for s in others
    ]
    return sorted(items, key=lambda i: i["at"], reverse=True)


def available_actions(user: User, slip: Slip, config: LedgerConfig | None = None) -> list[str]:
    """Actions both the role and the slip's current state permit (the buttons to show)."""
    return [a for a in slip_api.allowed_actions(slip) if can_act(user, a, config)]


def highlight_terms(slip: Slip, calls: list[Call]) -> list[str]:
    """Words to mark in the customer's turns: stored with the reasons, or found by the reasons' patterns."""
    reasons = list(slip.reasons or [])
    for call in calls:
        reasons += list(call.reasons or [])
    customer_lines = [
        t.text for c in calls for t in split_display_turns(c.transcript) if t.speaker != "agent"
    ]
    terms = set(reason_terms(reasons)) | set(signal_terms(customer_lines, reasons))
    return sorted(terms, key=len, reverse=True)


def act_on_slip(
    session: Session,
    user: User,
    slip_no: str,
    action: str,
    note: str | None,
    callback_result: str | None = None,
    expected_version: int | None = None,
    *,
    assignee: str | None = None,
    config: LedgerConfig | None = None,
) -> Slip:
    """Check access, apply the action through pipeline.slips and commit; raises NotFound/Forbidden/Conflict."""
    slip = visible_slip(session, user, slip_no)
    if action not in Action.__members__.values():
        raise Conflict(f"未知操作 {action}")
    if not can_act(user, action, config):
        raise Forbidden(action)
    if expected_version is not None and slip.version != expected_version:
        raise Conflict("预警单已被他人更新，请刷新页面查看最新状态后再操作")
    if action == Action.ASSIGN and (assignee or "").strip() not in assignable_users(session, slip):
        raise Conflict(f"处理人须为{slip.unit}的在用账号")
    try:
        updated = slip_api.apply_action(
            session, slip_no, action, user.username, note, callback_result, assignee=assignee
        )
        session.commit()
    except slip_api.SlipActionError as exc:
        session.rollback()
        raise Conflict(str(exc)) from exc
    except (StaleDataError, OperationalError) as exc:
        session.rollback()
        raise Conflict("预警单已被他人同时修改或数据库繁忙，请刷新后重试") from exc
    return updated


class BadCategory(Exception):
    """A category that is not one of the taxonomy's; message in Chinese."""


def visible_call(session: Session, user: User, call_id: str) -> Call:
    """The call if it exists and the user's unit scope covers it; NotFound otherwise."""
    call = session.scalar(scope_calls(select(Call).where(Call.call_id == call_id), user))
    if call is None:
        raise NotFound(call_id)
    return call


def label_call(session: Session, user: User, call_id: str, category: str) -> Call:
    """Record a person's category for a call and commit; raises NotFound/Forbidden/BadCategory/Conflict."""
    call = visible_call(session, user, call_id)
    if not can_write(user):
        raise Forbidden("label")
    if category not in LABEL_ZH:
        raise BadCategory(f"问题类别必须是 {'、'.join(f'{k}（{v}）' for k, v in LABEL_ZH.items())} 之一")
    try:
        corrections.correct_category(session, call, category, user.username)
        session.commit()
    except corrections.LabelError as exc:
        session.rollback()
        raise Conflict(str(exc)) from exc
    except (StaleDataError, OperationalError) as exc:
        session.rollback()
        raise Conflict("数据库繁忙，请稍后重试") from exc
    return call


def comment_on_slip(session: Session, user: User, slip_no: str, body: str) -> Slip:
    """Add a comment (everyone but auditors); raises NotFound/Forbidden/Conflict."""
    slip = visible_slip(session, user, slip_no)
    if not can_write(user):
        raise Forbidden("comment")
    try:
        ledger.add_comment(session, slip, user.username, body)
        session.commit()
    except ledger.LedgerError as exc:
        session.rollback()
        raise Conflict(str(exc)) from exc
    return slip


def attach_to_slip(session: Session, user: User, slip_no: str, filename: str, data: bytes) -> Slip:
    """Store a site photo on the slip (everyone but auditors); raises NotFound/Forbidden/Conflict."""
    slip = visible_slip(session, user, slip_no)
    if not can_write(user):
        raise Forbidden("attach")
    try:
        ledger.add_attachment(session, slip, user.username, filename, data)
        session.commit()
    except ledger.LedgerError as exc:
        session.rollback()
        raise Conflict(str(exc)) from exc
    return slip


def slip_summary(slip: Slip) -> dict[str, Any]:
    """A slip as one JSON object for the queue API."""
    return {
        "slip_no": slip.slip_no,
        "unit": slip.unit,
        "area": slip.area,
        "customer": slip.customer_masked,
        "category": slip.category,
        "category_zh": LABEL_ZH.get(slip.category, slip.category),
        "level": slip.level,
        "level_zh": RISK_LEVEL_ZH.get(slip.level, slip.level),
        "score": round(slip.score, 4),
        "status": slip.status,
        "status_zh": SLIP_STATUS_ZH.get(slip.status, slip.status),
        "overdue": is_overdue(slip),
        "due_state": due_state(slip),
        "remaining": remaining_zh(slip),
        "assignee": slip.assignee,
        "supervised": slip.supervised,
        "call_count": slip.call_count,
        "created_at": slip.created_at.isoformat(),
        "due_at": slip.due_at.isoformat(),
        "closed_at": slip.closed_at.isoformat() if slip.closed_at else None,
        "callback_result": slip.callback_result,
        "escalated_12398": slip.escalated_12398,
        "escalated_at": slip.escalated_at.isoformat() if slip.escalated_at else None,
        "false_alarm": slip.false_alarm,
        "false_alarm_reason": slip.false_alarm_reason,
        "version": slip.version,
    }


def slip_detail(
    session: Session, user: User, slip: Slip, config: LedgerConfig | None = None
) -> dict[str, Any]:
    """A slip with its reasons, calls, audit trail and the actions open to this user."""
    calls = slip_calls(session, slip)
    corrected = corrections.corrected_categories(session, [c.call_id for c in calls])
    return slip_summary(slip) | {
        "reasons": list(slip.reasons or []),
        "recommended_actions": list(slip.recommended_actions or []),
        "handling_note": slip.handling_note,
        "reopen_count": slip.reopen_count,
        "available_actions": available_actions(user, slip, config),
        "assignable": assignable_users(session, slip),
        "comments": [
            {"at": c.at.isoformat(), "by": c.by, "body": mask_pii(c.body)}
            for c in ledger.comments_of(session, slip)
        ],
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "at": a.at.isoformat(),
                "by": a.by,
                "url": f"/api/slips/{slip.slip_no}/attachments/{a.id}",
            }
            for a in ledger.attachments_of(session, slip)
        ],
        "calls": [
            {
                "call_id": c.call_id,
                "call_time": c.call_time.isoformat(),
                "channel": c.channel,
                "category": c.category,
                "corrected_category": corrected.get(c.call_id),
                "confidence": round(c.confidence, 4),
                "risk_level": c.risk_level,
                "escalation_score": round(c.escalation_score, 4),
                "transcript": c.transcript,
                "reasons": list(c.reasons or []),
            }
            for c in calls
        ],
        "events": [
            {
                "at": e.at.isoformat(),
                "by": e.by,
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "note": mask_pii(e.note) if e.note else e.note,
                "details": e.details,
            }
            for e in slip_events(session, slip)
        ],
    }
