"""Product database: ORM models, engine/session helpers and Alembic migrations."""

from pipeline.storage.db import (
    DatabaseError,
    SecretError,
    customer_hash,
    make_engine,
    open_engine,
    require_customer_secret,
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
from pipeline.storage.outcomes import Label, Outcome12398

__all__ = [
    "AuditImmutableError",
    "Base",
    "Call",
    "DatabaseError",
    "SecretError",
    "Label",
    "NightRun",
    "Outcome12398",
    "QuarantinedRow",
    "Slip",
    "SlipCall",
    "SlipEvent",
    "User",
    "WebhookDelivery",
    "customer_hash",
    "make_engine",
    "open_engine",
    "require_customer_secret",
    "session_factory",
    "session_scope",
    "upgrade",
]
