"""Issue 12 item 9: no public default secret outside tests; no INSERT parameters in error messages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from pipeline.storage import make_engine


def _hash_in_a_fresh_process(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "from pipeline.storage import customer_hash; print(customer_hash('13812345678'))"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_the_default_customer_secret_is_refused_outside_tests(tmp_path):
    refused = _hash_in_a_fresh_process({"COMPLAINTS_HOME": str(tmp_path)})
    assert refused.returncode != 0 and "COMPLAINTS_CUSTOMER_SECRET" in refused.stderr
    allowed = _hash_in_a_fresh_process({"COMPLAINTS_CUSTOMER_SECRET": "s3cret-from-the-vault"})
    assert allowed.returncode == 0 and len(allowed.stdout.strip()) == 64


def test_the_default_secret_set_explicitly_is_refused_too(tmp_path):
    from pipeline.storage.db import DEFAULT_CUSTOMER_SECRET

    refused = _hash_in_a_fresh_process({"COMPLAINTS_CUSTOMER_SECRET": DEFAULT_CUSTOMER_SECRET})
    assert refused.returncode != 0


def test_database_errors_do_not_carry_statement_parameters(db_url):
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t_pii (id INTEGER PRIMARY KEY, phone VARCHAR(20))"))
        with pytest.raises(IntegrityError) as err, engine.begin() as conn:
            for _ in range(2):
                conn.execute(text("INSERT INTO t_pii (id, phone) VALUES (1, :p)"), {"p": "13812345678"})
        assert "13812345678" not in str(err.value)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE t_pii"))
        engine.dispose()
