"""The slip queue for one user: the ledger's filters, order and paging, scoped to what the user may see.

All of it is :mod:`pipeline.ledger`; this module only adds the user's scope,
so the pages, the API, the Excel ledger and ``complaints slips`` agree.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import ledger
from pipeline.ledger import FilterError, LedgerFilters, SlipPage
from pipeline.storage.models import Slip, User
from webapp.access import scope_slips

__all__ = ["FilterError", "LedgerFilters", "iter_queue", "queue_page", "visible_units"]


def queue_page(
    session: Session, user: User, filters: LedgerFilters, page: int = 1, per_page: int = 50
) -> SlipPage:
    """The slips this user may see, filtered, most urgent first, one page of them."""
    return ledger.list_slips(session, filters, page, per_page, scope=lambda q: scope_slips(q, user))


def iter_queue(session: Session, user: User, filters: LedgerFilters) -> Iterator[Slip]:
    """Every slip of the filtered queue in queue order, streamed (for the ledger export)."""
    return ledger.iter_slips(session, filters, scope=lambda q: scope_slips(q, user))


def visible_units(session: Session, user: User) -> list[str]:
    """Units that appear in the filter drop-down."""
    if user.role == "unit":
        return [user.unit] if user.unit else []
    return list(session.scalars(select(Slip.unit).distinct().order_by(Slip.unit)))


def assignable_users(session: Session, slip: Slip) -> list[str]:
    """Who a slip can be assigned to: the enabled staff of its unit."""
    query = select(User.username).where(User.role == "unit", User.unit == slip.unit, User.disabled.is_(False))
    return list(session.scalars(query.order_by(User.username)))
