#!/usr/bin/env bash
# Rebuild the compact Chinese BERT base shipped in data/base/bert-zh-compact: simulate the corpus
# (30 nights, seed 2026, bank-driven language), then MLM-pretrain it (default preset) and write the
# half-precision copy with SOURCE.json (corpus sha256, MLflow run, loss, spread). About an hour on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
CORPUS=${CORPUS:-var/pretrain-corpus}
[ -d "$CORPUS" ] || .venv/bin/complaints simulate --out "$CORPUS" --days 30 --seed 2026
.venv/bin/complaints pretrain --data "$CORPUS" --preset default --ship "$@"
