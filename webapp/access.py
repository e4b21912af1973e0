"""Who may see which slips and do which actions.

A unit user sees only slips of their own unit; a slip of another unit is
reported as "not found" (404), never "forbidden", so slip numbers of other
units cannot be probed. Auditors read everything and change nothing; province
staff may do every action, and only they may escalate (提级督办), since
supervising the units is their job. The callback (回访) is recorded by a role
other than the unit that did the work: ``[slips] callback_roles`` (default
province only) says which roles may record it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from pipeline.ledger import Action, LedgerConfig
from pipeline.storage.models import Call, Slip, User

ROLE_ZH: dict[str, str] = {"province": "省公司", "unit": "供电单位", "auditor": "审计（只读）"}
_ROLE_BASE: dict[str, frozenset[Action]] = {
    "province": frozenset(Action) - {Action.CALLBACK},
    "unit": frozenset({Action.ACKNOWLEDGE, Action.HANDLE, Action.CLOSE, Action.ASSIGN, Action.FALSE_ALARM}),
    "auditor": frozenset(),
}
WRITERS: frozenset[str] = frozenset({"province", "unit"})


def allowed_actions(user: User, config: LedgerConfig | None = None) -> frozenset[str]:
    """The actions this user's role permits, whatever the slip's state."""
    config = config or LedgerConfig()
    actions = set(_ROLE_BASE.get(user.role, frozenset()))
    if user.role in config.callback_roles and user.role in WRITERS:
        actions.add(Action.CALLBACK)
    return frozenset(a.value for a in actions)


def can_act(user: User, action: str, config: LedgerConfig | None = None) -> bool:
    """True when the role permits the action."""
    return action in allowed_actions(user, config)


def can_write(user: User) -> bool:
    """Comments and attachments: everyone but auditors."""
    return user.role in WRITERS


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
