"""Checkpoints in LeRobot's layout, written into a local folder that Ray Train then persists atomically.

    <checkpoint>/pretrained_model/{config.json, model.safetensors, policy_*processor*, train_config.json}
    <checkpoint>/training_state/{optimizer_state.pt, scheduler_state.json, rng_state.pt, training_step.json}

Ray Train copies the folder to storage and only then registers it, so an interrupted write never becomes the
latest checkpoint. The optimizer state is a torch file (nested dicts of tensors, loaded with weights_only=True).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch

from orchestrator.configs.parsing import encode
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.policies.base import Policy
from orchestrator.policy_source import WEIGHTS_NAME

PRETRAINED = "pretrained_model"
TRAINING_STATE = "training_state"


def save_train_config(cfg: TrainPipelineConfig, path: Path) -> None:
    path.write_text(json.dumps(encode(cfg), indent=2))


def save_checkpoint(folder: Path, step: int, cfg: TrainPipelineConfig, policy: Policy,
                    optimizer: torch.optim.Optimizer, scheduler) -> None:
    pretrained = folder / PRETRAINED
    state = folder / TRAINING_STATE
    pretrained.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    policy.save_pretrained(pretrained)
    save_train_config(cfg, pretrained / "train_config.json")
    torch.save(optimizer.state_dict(), state / "optimizer_state.pt")
    (state / "scheduler_state.json").write_text(json.dumps(scheduler.state_dict()))
    torch.save({"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
               state / "rng_state.pt")
    (state / "training_step.json").write_text(json.dumps({"step": step}))


def load_training_state(folder: Path, policy: Policy, optimizer: torch.optim.Optimizer, scheduler) -> int:
    """Restore weights, optimizer, scheduler and RNG from a checkpoint folder; returns the step it was taken at."""
    state = folder / TRAINING_STATE
    policy.load_weights(folder / PRETRAINED / WEIGHTS_NAME)
    optimizer.load_state_dict(torch.load(state / "optimizer_state.pt", weights_only=True))
    scheduler.load_state_dict(json.loads((state / "scheduler_state.json").read_text()))
    rng = torch.load(state / "rng_state.pt", weights_only=False)
    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])
    return int(json.loads((state / "training_step.json").read_text())["step"])
