"""Checkpoints in LeRobot's layout, written into a local folder that Ray Train then persists atomically.

    <checkpoint>/pretrained_model/{config.json, model.safetensors, policy_*processor*, train_config.json}
    <checkpoint>/training_state/{optimizer_state.pt, scheduler_state.json, rng_state.pt, training_step.json}

rng_state.pt holds the RNG state of every rank (torch, CUDA where present, numpy, python): with DDP each rank draws its
own dropout and latent noise, and a resumed rank must continue its own stream, not rank 0's.

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
from orchestrator.experiment_layout import PRETRAINED, TRAINING_STATE
from orchestrator.policies.base import Policy
from orchestrator.policy_source import WEIGHTS_NAME


def save_train_config(cfg: TrainPipelineConfig, path: Path) -> None:
    path.write_text(json.dumps(encode(cfg), indent=2))


def rng_state() -> dict:
    """This process's RNG states: torch (CPU, and the current CUDA device's where there is one), numpy, python."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(
    folder: Path,
    step: int,
    cfg: TrainPipelineConfig,
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    scheduler,
    rank_rng_states: list[dict] | None = None,
) -> None:
    """`rank_rng_states`: every rank's `rng_state()`, in rank order (None: a single process, this one's)."""
    pretrained = folder / PRETRAINED
    state = folder / TRAINING_STATE
    pretrained.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    policy.save_pretrained(pretrained)
    save_train_config(cfg, pretrained / "train_config.json")
    torch.save(optimizer.state_dict(), state / "optimizer_state.pt")
    (state / "scheduler_state.json").write_text(json.dumps(scheduler.state_dict()))
    ranks = rank_rng_states or [rng_state()]
    torch.save({**ranks[0], "ranks": ranks}, state / "rng_state.pt")  # rank 0's also at the top (older readers)
    (state / "training_step.json").write_text(json.dumps({"step": step}))


def load_training_state(
    folder: Path, policy: Policy, optimizer: torch.optim.Optimizer, scheduler, rank: int = 0
) -> int:
    """Restore weights, optimizer, scheduler and `rank`'s RNG from a checkpoint folder; returns the step it was taken
    at. A rank the checkpoint has no RNG state for (more workers than when it was saved) keeps its own seeding.

    The optimizer's moments and the schedule's position come from the checkpoint; its hyperparameters (lr per
    parameter group, weight decay, betas, ...) come from the config the optimizer and scheduler were built with, so
    a run that continues another's checkpoint with other values (PBT's exploit + explore) trains with its own. On a
    plain resume the two agree and nothing changes."""
    state = folder / TRAINING_STATE
    policy.load_weights(folder / PRETRAINED / WEIGHTS_NAME)
    configured = [
        {k: v for k, v in group.items() if k not in ("params", "lr", "initial_lr")} for group in optimizer.param_groups
    ]
    base_lrs = list(scheduler.base_lrs)
    optimizer.load_state_dict(torch.load(state / "optimizer_state.pt", weights_only=True))
    scheduler.load_state_dict(json.loads((state / "scheduler_state.json").read_text()))
    for group, hyper in zip(optimizer.param_groups, configured):
        group.update(hyper)
    if list(scheduler.base_lrs) != base_lrs:
        apply_base_lrs(optimizer, scheduler, base_lrs)
    rng = torch.load(state / "rng_state.pt", weights_only=False)
    ranks = rng.get("ranks", [rng])  # checkpoints written before every rank's state was kept: rank 0's for all
    if rank < len(ranks):
        set_rng_state(ranks[rank])
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
