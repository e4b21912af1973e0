"""The ``identity_links`` table: which customer each identity key (account, phone, masked phone) belongs to.

Keys are keyed hashes (``customer_hash("account:…")``), never raw numbers.
``customer_id`` is the customer the key belongs to now; ``origin_id`` the id
the key had on its own (the old ``customer_hash`` of the number), so calls
stored under it are still found after two customers were joined. Logic lives
in :mod:`pipeline.identity`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.storage.models import Base
from pipeline.storage.types import utcnow


class IdentityLink(Base):
    """One identity key of a customer."""

    __tablename__ = "identity_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    origin_id: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
