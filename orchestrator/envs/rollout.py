"""Roll a policy out in a vector env: the evaluation protocol (LeRobot's success / sum / max reward per episode)."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from orchestrator.configs.features import FeatureType
from orchestrator.envs.base import EnvConfig
from orchestrator.envs.vector import make_vector_env
from orchestrator.results.stats import eval_metrics


@dataclass
class EpisodeResult:
    seed: int  # the episode's reset seed
    success: bool  # the env reported is_success at some step
    sum_reward: float  # total reward of the episode
    max_reward: float  # best single-step reward of the episode


def rollout(
    policy,
    env_cfg: EnvConfig,
    seeds: list[int],
    batch_size: int,
    use_async: bool = False,
    autoreset_mode: gym.vector.AutoresetMode = gym.vector.AutoresetMode.SAME_STEP,
) -> list[EpisodeResult]:
    """Run one episode per seed, `batch_size` at a time in a vector env; the policy acts on the whole batch.
    `policy=None` lets the env's scripted expert act instead (the ceiling of these episodes)."""
    results: list[EpisodeResult] = []
    env = make_vector_env(
        env_cfg, min(batch_size, len(seeds)), use_async, expert=policy is None, autoreset_mode=autoreset_mode
    )
    try:
        for start in range(0, len(seeds), env.num_envs):
            batch = seeds[start : start + env.num_envs]
            results += _run_batch(policy, env_cfg, env, batch)
    finally:
        env.close()
    return results


def _run_batch(policy, env_cfg: EnvConfig, env, seeds: list[int]) -> list[EpisodeResult]:
    n = env.num_envs
    padded = seeds + [seeds[-1]] * (n - len(seeds))  # extra envs replay the last seed; their results are dropped
    obs, _ = env.reset(seed=padded)
    act = _expert_placeholder(env) if policy is None else _policy_actions(policy, env_cfg)
    done = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    sum_reward = np.zeros(n)
    max_reward = np.full(n, -np.inf)
    while not done.all():
        obs, reward, terminated, truncated, info = env.step(act(obs))
        live = ~done
        sum_reward[live] += reward[live]
        max_reward[live] = np.maximum(max_reward[live], reward[live])
        success[live] |= episode_success(info, n)[live]
        done |= terminated | truncated
    return [EpisodeResult(s, bool(success[i]), float(sum_reward[i]), float(max_reward[i])) for i, s in enumerate(seeds)]


def _policy_actions(policy, env_cfg: EnvConfig):
    """obs -> the policy's batched actions (its action queue starts empty)."""
    policy.reset()
    device = next(policy.parameters()).device
    visual = {key for key, feature in env_cfg.features().items() if feature.type == FeatureType.VISUAL}
    return lambda obs: policy.select_action(to_policy_inputs(env_cfg.to_frame(obs), visual, device)).cpu().numpy()


def _expert_placeholder(env):
    """obs -> actions the ExpertDriven envs ignore (their expert acts), shaped as the env expects."""
    zeros = np.zeros(env.action_space.shape, dtype=env.action_space.dtype)
    return lambda obs: zeros


def episode_success(info: dict, n: int) -> np.ndarray:
    """`is_success` of the episode each env was in before this step, for every autoreset mode.

    With AutoresetMode.SAME_STEP an env that terminated was already reset inside the same step: `info` then
    describes the new episode and the finished episode's info is in `info["final_info"]` (masked by
    `info["_final_info"]`). With NEXT_STEP (and DISABLED) `info` is the finished episode's own. Every simulator here
    ends an episode on success, so reading only `info["is_success"]` would count no success at all."""
    success = _masked(info, "is_success", n)
    if "final_info" in info:
        ended = np.asarray(info.get("_final_info", np.zeros(n, dtype=bool)), dtype=bool)
        success = np.where(ended, _masked(info["final_info"], "is_success", n), success)
    return success


def _masked(info: dict, key: str, n: int) -> np.ndarray:
    """A batched boolean info entry, False where an env did not report it (gymnasium's `_<key>` mask)."""
    if key not in info:
        return np.zeros(n, dtype=bool)
    value = np.asarray(info[key], dtype=bool)
    return value & np.asarray(info.get(f"_{key}", np.ones(n, dtype=bool)), dtype=bool)


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
    """LeRobot's aggregate eval metrics, with the success rate's 95 % interval."""
    return eval_metrics([r.success for r in results], [r.sum_reward for r in results], [r.max_reward for r in results])
