#!/usr/bin/env bash
# Set everything up, then run the demo sweep: ACT on PushT, local Ray, locally recorded dataset, W&B offline.
# Extra arguments are passed to the sweep, e.g. --tune.num_samples=4 or --tune.resume=true.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_USAGE_STATS_ENABLED=0 WANDB_MODE=offline
exec .venv/bin/python -m orchestrator sweep search_spaces/act.py --wandb.enable=true "$@"
