"""Engines, sessions and schema upgrades for the product database.

The nightly batch and the web app write the same database at the same time:
SQLite runs in WAL mode with a busy timeout so readers never block the writer
and a second writer waits instead of failing; PostgreSQL needs nothing extra.
The schema is only ever created by Alembic (:func:`upgrade`, run by
``complaints db upgrade``, by deploy and by the very first run into an empty
database), so SQLite and PostgreSQL get the same tables, indexes and audit
triggers. Everything else opens the database with :func:`open_engine`, which
only checks the revision: no migration runs on an ordinary engine open.

Engines hide statement parameters in their errors: an INSERT that fails must
not put a caller's phone number into a log, a ``night_runs`` row or Prefect's
stored task exception.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import get_settings, section

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_CUSTOMER_SECRET = "complaints-dev-secret-change-me"


class DatabaseError(Exception):
    """A database that cannot be opened or upgraded; the message is one line, in Chinese."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: the configured database), SQLite tuned for concurrent use."""
    url = url or get_settings().db_url
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (the CLI prints them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session committed on success and rolled back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> Engine:
    """Bring the database at ``url`` to ``revision`` and return an engine for it."""
    engine = make_engine(url)
    cfg = _alembic_config()
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except Exception as exc:
        engine.dispose()
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"无法打开或升级数据库 {safe_url(engine.url)}: {first_line}") from exc
    return engine


def open_engine(url: str | None = None, *, create_if_empty: bool = False) -> Engine:
    """An engine for a database already at the newest revision; never migrates an existing one.

    ``create_if_empty``: an empty database (no tables at all) is created by the
    migrations, which is what a very first run needs. A database behind the
    newest revision raises :class:`DatabaseError` asking for ``complaints db upgrade``.
    """
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except Exception as exc:
        engine.dispose()
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"无法打开数据库 {safe_url(engine.url)}: {first_line}") from exc
    head = head_revision()
    if current == head:
        return engine
    if current is None and create_if_empty and not inspect(engine).get_table_names():
        engine.dispose()
        return upgrade(url)
    engine.dispose()
    raise DatabaseError(
        f"数据库 {safe_url(engine.url)} 的版本为 {current or '空'}，需要 {head}：请先运行 complaints db upgrade"
    )


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision in the migration chain."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def safe_url(url: Any) -> str:
    """A database URL with its password hidden, for messages and logs."""
    return make_url(str(url)).render_as_string(hide_password=True)


class SecretError(ValueError):
    """No customer-key secret is configured outside tests; the message is one Chinese line."""


def _in_tests() -> bool:
    return "pytest" in sys.modules or os.environ.get("COMPLAINTS_ALLOW_DEFAULT_SECRET") == "1"


def _configured_secret() -> str | None:
    secret = os.environ.get("COMPLAINTS_CUSTOMER_SECRET") or section("storage").get("customer_secret")
    if secret:
        return str(secret)
    path = os.environ.get("COMPLAINTS_CUSTOMER_SECRET_FILE") or section("storage").get("customer_secret_file")
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8").strip() or None
    return None


@cache
def _customer_secret() -> bytes:
    secret = _configured_secret()
    if secret is None or secret == DEFAULT_CUSTOMER_SECRET:
        if not _in_tests():
            raise SecretError(
                "未配置客户标识密钥：请设置 COMPLAINTS_CUSTOMER_SECRET（或 COMPLAINTS_CUSTOMER_SECRET_FILE、"
                "[storage] customer_secret_file）；代码中的默认密钥是公开的，只能用于测试"
            )
        secret = DEFAULT_CUSTOMER_SECRET
    return secret.encode("utf-8")


def require_customer_secret() -> None:
    """Refuse to start (raise :class:`SecretError`) when only the public default secret is available."""
    _customer_secret()


def customer_hash(customer_key: str) -> str:
    """A keyed hash of the account number or phone: history matches across nights, the raw id is never stored."""
    normalized = "".join(customer_key.split())
    return hmac.new(_customer_secret(), normalized.encode("utf-8"), hashlib.sha256).hexdigest()
