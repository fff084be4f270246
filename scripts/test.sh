#!/usr/bin/env bash
# Set everything up, then run the test suite (unit, integration on a local Ray cluster, end-to-end CLI runs).
# Extra arguments go to pytest, e.g. `-m fast`: the inner loop (no Ray cluster, no sweep; under 3 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_USAGE_STATS_ENABLED=0 WANDB_MODE=offline
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
