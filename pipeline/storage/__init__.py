"""Product database: ORM models, engine/session helpers and Alembic migrations."""

from pipeline.storage.db import (
    DatabaseError,
    customer_hash,
    make_engine,
    session_factory,
    session_scope,
    upgrade,
)
from pipeline.storage.models import (
    AuditImmutableError,
    Base,
    Call,
    NightRun,
    QuarantinedRow,
    Slip,
    SlipCall,
    SlipEvent,
    User,
    WebhookDelivery,
)

__all__ = [
    "AuditImmutableError",
    "Base",
    "Call",
    "DatabaseError",
    "NightRun",
    "QuarantinedRow",
    "Slip",
    "SlipCall",
    "SlipEvent",
    "User",
    "WebhookDelivery",
    "customer_hash",
    "make_engine",
    "session_factory",
    "session_scope",
    "upgrade",
]
