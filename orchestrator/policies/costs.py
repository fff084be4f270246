"""What a policy costs on the robot: its parameter count and how long `select_action` takes, at batch 1, on the device
it runs on. Measured once per run, before training (the architecture, not the weights, sets both), and reported as
policy/* metrics (orchestrator/metrics.py) that a sweep can trade against success.

The latency is that of the real inference path: `select_action` queries the model when its action queue is empty
and pops a queued action otherwise, so the mean per action is one model query amortized over n_action_steps actions.
It is measured in whole query cycles after one warm-up cycle; the median cycle is kept (a cycle slowed by another
process on the node does not count). The global RNGs are left as they were (a diffusion policy draws noise).
"""
from __future__ import annotations

import statistics
import time

import torch
from torch import Tensor

from orchestrator import metrics as M

MIN_CYCLES, MAX_CYCLES = 3, 10  # measured model-query cycles: at least 3, at most 10, within BUDGET_S
BUDGET_S = 2.0


def n_params(policy: torch.nn.Module) -> int:
    """Every parameter of the policy (trainable or frozen); normalization statistics are buffers, not counted."""
    return sum(p.numel() for p in policy.parameters())


def single_observation(sample: dict[str, Tensor], policy) -> dict[str, Tensor]:
    """One frame of a dataset sample as a batch of 1, as the policy sees it in an env: each input feature at its own
    shape (a sample holding several frames of a feature, e.g. a diffusion policy's history, gives its last)."""
    out = {}
    for key, feature in policy.config.input_features.items():
        value = torch.as_tensor(sample[key])
        if value.dim() > len(feature.shape):
            value = value[-1]
        out[key] = value.unsqueeze(0)
    return out


def blank_observation(policy) -> dict[str, Tensor]:
    """Zeros for every input feature, batch 1 (a policy's compute does not depend on the values it sees)."""
    return {key: torch.zeros(1, *feature.shape) for key, feature in policy.config.input_features.items()}


def describe(costs: dict[str, float], device: torch.device) -> str:
    """One line for people: parameters, latency per action and per model query."""
    return (f"{int(costs[M.POLICY_N_PARAMS]):,} parameters; select_action {costs[M.POLICY_LATENCY_MS]:.3g} ms per "
            f"action, {costs[M.POLICY_CHUNK_MS]:.3g} ms per model query (batch 1, {device.type})")


def policy_costs(policy, observation: dict[str, Tensor], device: torch.device) -> dict[str, float]:
    """{policy/n_params, policy/latency_ms, policy/chunk_ms} of `policy` on `device` for one `observation`."""
    observation = {k: v.to(device) for k, v in observation.items()}
    steps = max(1, int(policy.config.n_action_steps))
    cycles: list[tuple[float, float]] = []  # (ms of the whole cycle, ms of its model query)
    was_training = policy.training
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        policy.reset()
        _cycle(policy, observation, steps, device)  # warm-up: allocations, kernel selection
        start = time.perf_counter()
        while len(cycles) < MAX_CYCLES and (len(cycles) < MIN_CYCLES or time.perf_counter() - start < BUDGET_S):
            cycles.append(_cycle(policy, observation, steps, device))
        policy.reset()
    policy.train(was_training)
    total, query = statistics.median(c[0] for c in cycles), statistics.median(c[1] for c in cycles)
    return {M.POLICY_N_PARAMS: n_params(policy), M.POLICY_LATENCY_MS: total / steps, M.POLICY_CHUNK_MS: query}


def _cycle(policy, observation: dict[str, Tensor], steps: int, device: torch.device) -> tuple[float, float]:
    """One model query and the queued actions after it: (ms of all `steps` calls, ms of the first)."""
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        policy.select_action(observation)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - start) * 1000)
    return sum(times), times[0]
