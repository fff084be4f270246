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
    """Restore weights, optimizer, scheduler and RNG from a checkpoint folder; returns the step it was taken at.

    The optimizer's moments and the schedule's position come from the checkpoint; its hyperparameters (lr per
    parameter group, weight decay, betas, ...) come from the config the optimizer and scheduler were built with, so
    a run that continues another's checkpoint with other values (PBT's exploit + explore) trains with its own. On a
    plain resume the two agree and nothing changes."""
    state = folder / TRAINING_STATE
    policy.load_weights(folder / PRETRAINED / WEIGHTS_NAME)
    configured = [{k: v for k, v in group.items() if k not in ("params", "lr", "initial_lr")}
                  for group in optimizer.param_groups]
    base_lrs = list(scheduler.base_lrs)
    optimizer.load_state_dict(torch.load(state / "optimizer_state.pt", weights_only=True))
    scheduler.load_state_dict(json.loads((state / "scheduler_state.json").read_text()))
    for group, hyper in zip(optimizer.param_groups, configured):
        group.update(hyper)
    if list(scheduler.base_lrs) != base_lrs:
        apply_base_lrs(optimizer, scheduler, base_lrs)
    rng = torch.load(state / "rng_state.pt", weights_only=False)
    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])
    return int(json.loads((state / "training_step.json").read_text())["step"])


def apply_base_lrs(optimizer: torch.optim.Optimizer, scheduler, base_lrs: list[float]) -> None:
    """Give a restored LambdaLR schedule new base lrs (one per parameter group): each group's lr becomes its new base
    lr times the schedule's factor at the restored step, as if the run had had these lrs from the start."""
    scheduler.base_lrs = list(base_lrs)
    for group, base, factor in zip(optimizer.param_groups, base_lrs, scheduler.lr_lambdas):
        group["initial_lr"] = base
        group["lr"] = base * factor(scheduler.last_epoch)
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]  # what get_last_lr() (the log) reads


def weights_digest(weights: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a policy's saved weights (model.safetensors' tensors, or the state dict less the normalization
    statistics), by key: equal digests mean bit-identical weights."""
    import hashlib

    digest = hashlib.sha256()
    for key in sorted(weights):
        digest.update(key.encode())
        digest.update(weights[key].detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
