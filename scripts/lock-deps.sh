#!/usr/bin/env bash
# Refresh constraints.txt from the current .venv: every resolved version, pinned, so every install
# (scripts/setup-env.sh, CI, a new machine) gets the same Prefect, MLflow, transformers...
# Run after changing dependencies in pyproject.toml and installing them:
#     .venv/bin/pip install -e '.[dev]' && bash scripts/lock-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
{
  echo "# Resolved versions of every dependency; refresh with: bash scripts/lock-deps.sh"
  echo "# (generated from pip freeze, the project itself excluded; torch pinned to the CPU build 2.13.0)"
  "$VENV/bin/python" -m pip freeze --exclude-editable --all 2>/dev/null \
    | grep -v -i -E '^(complaint-risk|pip|setuptools|wheel)(==| @)' \
    | sed -E 's/^torch==.*/torch==2.13.0/'
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned packages"
