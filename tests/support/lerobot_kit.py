"""Where the files LeRobot 0.4.4 itself wrote live: ../shared/lerobot beside the repository (CI has it there too).

Tests compare against these, never only against our own writer (see ../shared/lerobot/README.md)."""

from __future__ import annotations

from pathlib import Path

KIT = Path(__file__).resolve().parents[2].parent / "shared" / "lerobot"
FIXTURES = KIT / "fixtures"
STATE_DATASET = FIXTURES / "datasets" / "state"
ACT_TINY = FIXTURES / "policies" / "act_tiny"
DIFFUSION_TINY = FIXTURES / "policies" / "diffusion_tiny"
ACT_TINY_ACTIONS = FIXTURES / "reference" / "act_tiny_actions.safetensors"
# A whole checkpoint folder LeRobot 0.4.4's `lerobot-train` wrote (train_config.json included, env null), and
# `lerobot-eval`'s eval_info.json for it on PushT: tests/fixtures/lerobot_train/ (see its README)
LEROBOT_TRAIN = Path(__file__).resolve().parents[1] / "fixtures" / "lerobot_train"
LEROBOT_TRAIN_ACT = LEROBOT_TRAIN / "act_pretrained_model"
LEROBOT_EVAL_INFO = LEROBOT_TRAIN / "lerobot_eval_info.json"
