"""Roll a policy out in a vector env: the evaluation protocol (LeRobot's success / sum / max reward per episode)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from orchestrator.configs.features import FeatureType
from orchestrator.envs.configs import EnvConfig
from orchestrator.envs.vector import make_vector_env


@dataclass
class EpisodeResult:
    seed: int  # the episode's reset seed
    success: bool  # the env reported is_success at some step
    sum_reward: float  # total reward of the episode
    max_reward: float  # best single-step reward of the episode


def rollout(policy, env_cfg: EnvConfig, seeds: list[int], batch_size: int, use_async: bool = False) -> list[EpisodeResult]:
    """Run one episode per seed, `batch_size` at a time in a vector env; the policy acts on the whole batch."""
    results: list[EpisodeResult] = []
    env = make_vector_env(env_cfg, min(batch_size, len(seeds)), use_async)
    try:
        for start in range(0, len(seeds), env.num_envs):
            batch = seeds[start:start + env.num_envs]
            results += _run_batch(policy, env_cfg, env, batch)
    finally:
        env.close()
    return results


def _run_batch(policy, env_cfg: EnvConfig, env, seeds: list[int]) -> list[EpisodeResult]:
    n = env.num_envs
    padded = seeds + [seeds[-1]] * (n - len(seeds))  # extra envs replay the last seed; their results are dropped
    obs, _ = env.reset(seed=padded)
    policy.reset()
    done = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    sum_reward = np.zeros(n)
    max_reward = np.full(n, -np.inf)
    device = next(policy.parameters()).device
    visual = {key for key, feature in env_cfg.features().items() if feature.type == FeatureType.VISUAL}
    while not done.all():
        frame = to_policy_inputs(env_cfg.to_frame(obs), visual, device)
        action = policy.select_action(frame).cpu().numpy()
        obs, reward, terminated, truncated, info = env.step(action)
        live = ~done
        sum_reward[live] += reward[live]
        max_reward[live] = np.maximum(max_reward[live], reward[live])
        success[live] |= np.asarray(info.get("is_success", np.zeros(n, dtype=bool)), dtype=bool)[live]
        done |= terminated | truncated
    return [EpisodeResult(s, bool(success[i]), float(sum_reward[i]), float(max_reward[i])) for i, s in enumerate(seeds)]


def to_policy_inputs(frame: dict[str, np.ndarray], visual: set[str], device) -> dict[str, torch.Tensor]:
    """A batched frame as policy inputs (LeRobot's preprocess_observation): images uint8 (B, H, W, C) become
    float32 (B, C, H, W) in [0, 1]; other features are passed as they are."""
    out = {}
    for key, value in frame.items():
        tensor = torch.from_numpy(value).to(device)
        if key in visual:
            tensor = tensor.permute(0, 3, 1, 2).float().div_(255.0)
        out[key] = tensor
    return out


def summarize(results: list[EpisodeResult]) -> dict[str, float]:
    """LeRobot's aggregate eval metrics."""
    return {
        "eval/success": float(np.mean([r.success for r in results])),
        "eval/avg_sum_reward": float(np.mean([r.sum_reward for r in results])),
        "eval/avg_max_reward": float(np.mean([r.max_reward for r in results])),
        "eval/n_episodes": len(results),
    }
