#!/usr/bin/env bash
# Set everything up, then run the demo sweep: ACT on MetaWorld button-press, local Ray, a dataset recorded locally by
# MetaWorld's scripted policy, local storage, W&B offline; the winner is confirmed on 50 fresh episodes.
# Extra arguments are passed to the sweep, e.g. --tune.num_samples=4 or --tune.resume=true.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_USAGE_STATS_ENABLED=0 WANDB_MODE=offline
exec .venv/bin/python -m orchestrator sweep search_spaces/act_metaworld.py --wandb.enable=true "$@"
