#!/usr/bin/env bash
# Create .venv and install the project with its dev extras, at the versions pinned in
# constraints.txt (refresh it with scripts/lock-deps.sh); safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# pip warns once per package about index locations this machine lists but lacks; keep the rest.
pip_install() {
  .venv/bin/python -m pip install --quiet "$@" 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
}
pip_install --upgrade pip
# torch is pinned to the CPU build that lies on the machine's disk (PIP_FIND_LINKS).
pip_install 'torch==2.13.0'
pip_install -c constraints.txt -e '.[dev]'
