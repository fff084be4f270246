"""Gymnasium vector envs built from an env config."""

from __future__ import annotations

from functools import partial

import gymnasium as gym

from orchestrator.envs.base import EnvConfig
from orchestrator.envs.experts import ExpertDriven


def make_vector_env(
    cfg: EnvConfig,
    n_envs: int,
    use_async: bool = False,
    expert: bool = False,
    autoreset_mode: gym.vector.AutoresetMode = gym.vector.AutoresetMode.SAME_STEP,
) -> gym.vector.VectorEnv:
    """`n_envs` copies of the env; async runs each in its own process (worth it only for slow simulators).
    With `expert`, each env is driven by its scripted expert, whatever actions it is given."""
    fns = [partial(_expert_env, cfg) if expert else cfg.make for _ in range(n_envs)]
    if use_async and n_envs > 1:
        return gym.vector.AsyncVectorEnv(fns, autoreset_mode=autoreset_mode)
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=autoreset_mode)


def _expert_env(cfg: EnvConfig) -> gym.Env:
    return ExpertDriven(cfg.make(), cfg.type)
