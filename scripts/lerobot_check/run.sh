#!/usr/bin/env bash
# Our policy folders, loaded by LeRobot 0.4.4 itself: ACT and Diffusion (with a camera; cropped; resized + crop_ratio)
# written here with random weights, then loaded in LeRobot's side venv with `from_pretrained(strict=True)` and
# `make_pre_post_processors(config, pretrained_path=folder)`; prints the largest difference of LeRobot's raw actions
# from ours for the same raw observations (and, for Diffusion, the same noise).
#   bash scripts/lerobot_check/run.sh [LEROBOT_VENV]     (default ../lerobot-venv; built by ../shared/lerobot/make_venv.sh)
set -e
cd "$(dirname "$0")/../.."
VENV=${1:-../lerobot-venv}
[ -x "$VENV/bin/python" ] || { echo "no LeRobot venv at $VENV: bash ../shared/lerobot/make_venv.sh $VENV"; exit 2; }
OUT=$(mktemp -d)
.venv/bin/python scripts/lerobot_check/write_ours.py "$OUT"
"$VENV/bin/python" scripts/lerobot_check/load_in_lerobot.py "$OUT" 2>&1 | grep -v "^Loading weights"
rm -rf "$OUT"
