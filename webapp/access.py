"""Who may see which slips and do which actions.

A unit user sees only slips of their own unit; a slip of another unit is
reported as "not found" (404), never "forbidden", so slip numbers of other
units cannot be probed. Auditors read everything and change nothing; province
staff may do every action, and only they may escalate (提级督办), since
supervising the units is their job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from pipeline.slips import SYSTEM_ACTIONS
from pipeline.storage.models import Call, Slip, User

ACTIONS: tuple[str, ...] = ("acknowledge", "handle", "callback", "close", "escalate")
ACTION_ZH: dict[str, str] = {
    "acknowledge": "签收",
    "handle": "记录处理",
    "callback": "回访结果",
    "close": "销号",
    "escalate": "提级督办",
}
EVENT_ZH: dict[str, str] = ACTION_ZH | SYSTEM_ACTIONS
ROLE_ZH: dict[str, str] = {"province": "省公司", "unit": "供电单位", "auditor": "审计（只读）"}
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "province": frozenset(ACTIONS),
    "unit": frozenset({"acknowledge", "handle", "callback", "close"}),
    "auditor": frozenset(),
}
CALLBACK_RESULTS: tuple[str, ...] = ("满意", "基本满意", "不满意")


def allowed_actions(user: User) -> frozenset[str]:
    """The actions this user's role permits, whatever the slip's state."""
    return ROLE_ACTIONS.get(user.role, frozenset())


def can_act(user: User, action: str) -> bool:
    """True when the role permits the action."""
    return action in allowed_actions(user)


def sees_all_units(user: User) -> bool:
    """Province staff and auditors see every unit."""
    return user.role in ("province", "auditor")


def can_see(user: User, slip: Slip) -> bool:
    """True when the slip belongs to a unit the user may see."""
    return sees_all_units(user) or (user.role == "unit" and slip.unit == user.unit)


def scope_slips(query: Select[Any], user: User) -> Select[Any]:
    """Restrict a slip query to what the user may see."""
    if sees_all_units(user):
        return query
    if user.role == "unit" and user.unit:
        return query.where(Slip.unit == user.unit)
    return query.where(Slip.id.is_(None))


def scope_calls(query: Select[Any], user: User) -> Select[Any]:
    """Restrict a call query to what the user may see."""
    if sees_all_units(user):
        return query
    if user.role == "unit" and user.unit:
        return query.where(Call.unit == user.unit)
    return query.where(Call.id.is_(None))
