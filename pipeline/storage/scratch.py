"""Throw-away databases for tests and benchmarks: a SQLite file, or a private PostgreSQL schema.

Each PostgreSQL scratch database is a fresh schema reached through the
connection's ``search_path``, so parallel test runs on one server never see
each other's rows, and dropping the schema cleans up everything at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with its search_path set to ``schema``."""
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def scratch_database(kind: str, tmp_dir: Path, pg_base_url: str | None = None) -> Iterator[str]:
    """Yield the URL of an empty database of ``kind`` ("sqlite" or "postgresql"), removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / f'scratch-{uuid.uuid4().hex[:8]}.db'}"
        return
    if not pg_base_url:
        raise ValueError("a PostgreSQL base URL is needed for a postgresql scratch database")
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_base_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(pg_base_url, schema)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
