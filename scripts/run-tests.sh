#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run ruff and pytest.
# Extra arguments go to pytest (e.g. scripts/run-tests.sh tests/text -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
bash scripts/install-system-deps.sh

# PostgreSQL is part of the machine; the storage tests run against it too when it answers.
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q && [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  if pg_isready -h 127.0.0.1 -p 5432 -q; then
    export COMPLAINTS_TEST_PG_URL="${COMPLAINTS_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
  fi
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
