"""Gymnasium vector envs built from an env config."""
from __future__ import annotations

import gymnasium as gym

from orchestrator.envs.configs import EnvConfig


def make_vector_env(cfg: EnvConfig, n_envs: int, use_async: bool = False) -> gym.vector.VectorEnv:
    """`n_envs` copies of the env; async runs each in its own process (worth it only for slow simulators)."""
    fns = [cfg.make for _ in range(n_envs)]
    if use_async and n_envs > 1:
        return gym.vector.AsyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
