"""Shared by the benchmark scripts: the demo ACT config, the recorded dataset, and a private local Ray."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

DEFAULT_CACHE = "/tmp/robot-sweeps-bench-cache"

# The demo sweep's ACT (search_spaces/act.py at its defaults): what a trial of the demo trains.
DEMO_ACT = {
    "type": "act",
    "chunk_size": 20,
    "n_action_steps": 20,
    "dim_model": 128,
    "n_heads": 4,
    "dim_feedforward": 256,
    "n_encoder_layers": 2,
    "n_vae_encoder_layers": 2,
    "latent_dim": 16,
    "kl_weight": 10.0,
}


def use_cache(cache: str, episodes: int) -> Path:
    """Point ROBOT_SWEEPS_CACHE at `cache` (before Ray starts, so workers see it) and record the dataset there once."""
    os.environ["ROBOT_SWEEPS_CACHE"] = cache
    from orchestrator.configs.train import DatasetConfig
    from orchestrator.datasets.record import ensure_dataset
    from orchestrator.envs.configs import PushTEnvConfig

    return ensure_dataset(DatasetConfig(record_episodes=episodes), PushTEnvConfig())


def demo_config(**fields):
    """A validated TrainPipelineConfig: the demo's ACT, batch 64, AdamW with clipping, plus `fields`."""
    from orchestrator.configs.parsing import build_config

    layer = {
        "policy": dict(DEMO_ACT),
        "optimizer": {"type": "adamw", "lr": 3e-4, "weight_decay": 1e-4, "grad_clip_norm": 10.0},
        "batch_size": 64,
        **fields,
    }
    return build_config(None, [layer])


class BareTrainer:
    """The training step of trainables/train_loop.py in plain PyTorch, with no Ray and no logging: the same dataset
    windows, DataLoader, policy, optimizer, clipping and schedule, on one torch thread."""

    def __init__(self, cfg):
        import torch
        from torch.utils.data import DataLoader

        from orchestrator.datasets.reader import LeRobotDataset
        from orchestrator.policies.factory import make_policy

        torch.set_num_threads(1)
        torch.manual_seed(cfg.seed)
        root = cfg.dataset.resolved_root()
        probe = LeRobotDataset(root)
        dataset = LeRobotDataset(
            root, delta_timestamps=cfg.policy.delta_timestamps(probe.meta.fps, list(probe.meta.features))
        )
        self.loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, drop_last=True)
        self.policy = make_policy(cfg.policy, dataset.meta.features, dataset.meta.stats)
        self.optimizer = cfg.optimizer.build(self.policy.optim_param_groups())
        self.scheduler = cfg.scheduler.build(self.optimizer, cfg.steps)
        self.clip = cfg.optimizer.grad_clip_norm
        self.batches = self._forever()

    def _forever(self):
        while True:
            yield from self.loader

    def step(self) -> float:
        import torch

        batch = next(self.batches)
        self.policy.train()
        loss, _ = self.policy(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.clip)
        self.optimizer.step()
        self.scheduler.step()
        return loss.item()


def ray_worker_niceness() -> int:
    """The niceness Ray gives its worker processes (Train workers and eval actors among them; Ray's default is 15)."""
    import ray

    return ray.get(ray.remote(lambda: os.nice(0)).remote())


def renice(niceness: int) -> int:
    """Set this process's niceness (raising it needs no privilege; lowering it does). Returns the new value."""
    return os.nice(niceness - os.nice(0))


def start_ray(num_cpus: int = 2) -> None:
    """A private local Ray (never another session's cluster), with the product's settings for workers."""
    import ray

    from orchestrator.runtime.ray_start import set_ray_env, worker_env

    os.environ.pop("RAY_ADDRESS", None)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    set_ray_env()  # the settings orchestrator.runtime.ray_start.connect_ray gives a sweep's Ray
    ray.init(
        address="local",
        num_cpus=num_cpus,
        include_dashboard=False,
        object_store_memory=500 * 2**20,
        runtime_env={"env_vars": worker_env()},
        log_to_driver=False,
        configure_logging=False,
    )


def summary(values: list[float]) -> str:
    """`median (min..max, n=N)` of repeated measurements."""
    return f"{statistics.median(values):.3f} ({min(values):.3f}..{max(values):.3f}, n={len(values)})"
