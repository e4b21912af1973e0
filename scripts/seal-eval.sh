#!/usr/bin/env bash
# Record the sha256 of the sealed test split. Run only when the test split is deliberately changed,
# and commit the new SHA256SUMS together with the change (tests/evaldata checks the two agree).
set -euo pipefail
cd "$(dirname "$0")/../data/eval/independent/test"
sha256sum -- *.jsonl > SHA256SUMS
cat SHA256SUMS
