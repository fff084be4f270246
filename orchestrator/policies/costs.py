"""What a policy costs on the robot: its parameter count and how long `select_action` takes, at batch 1, on the device
it runs on. Measured once per run, before training (the architecture, not the weights, sets both), and reported as
policy/* metrics (orchestrator/metrics.py) that a sweep can trade against success.

The latency is that of the real inference path: `select_action` queries the model when its action queue is empty
and pops a queued action otherwise, so the mean per action is one model query amortized over n_action_steps actions.
It is measured in whole query cycles after one warm-up cycle, repeated (at least 5 cycles, up to 20 within 2 s), and
reported as the mean over cycles with its 95 % interval (Student's t over the cycles: `policy/latency_ms_ci95_low`,
`_high`, and the same for `policy/chunk_ms`): a timing is a measurement with noise (another process on the node slows
a cycle), and a sweep that trades latency against success may only decide by a difference larger than that noise
(orchestrator/results/pareto.py). The global RNGs are left as they were (a diffusion policy draws noise).
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import Tensor

from orchestrator import metrics as M

MIN_CYCLES, MAX_CYCLES = 5, 20  # measured model-query cycles: at least 5, at most 20, within BUDGET_S
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
    """One line for people: parameters, latency per action and per model query (with their 95 % intervals)."""

    def ms(name: str) -> str:
        low, high = costs.get(f"{name}_ci95_low"), costs.get(f"{name}_ci95_high")
        return f"{costs[name]:.3g}" + ("" if low is None else f" [{low:.3g}, {high:.3g}]")

    return (
        f"{int(costs[M.POLICY_N_PARAMS]):,} parameters; select_action {ms(M.POLICY_LATENCY_MS)} ms per "
        f"action, {ms(M.POLICY_CHUNK_MS)} ms per model query (batch 1, {device.type}; 95 % intervals)"
    )


def policy_costs(policy, observation: dict[str, Tensor], device: torch.device) -> dict[str, float]:
    """{policy/n_params, policy/latency_ms, policy/chunk_ms, and the two timings' 95 % intervals} of `policy` on
    `device` for one `observation`."""
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
    latency = mean_t_interval([c[0] / steps for c in cycles])
    query = mean_t_interval([c[1] for c in cycles])
    return {
        M.POLICY_N_PARAMS: n_params(policy),
        M.POLICY_LATENCY_MS: latency[0],
        M.POLICY_LATENCY_LOW: latency[1],
        M.POLICY_LATENCY_HIGH: latency[2],
        M.POLICY_CHUNK_MS: query[0],
        M.POLICY_CHUNK_LOW: query[1],
        M.POLICY_CHUNK_HIGH: query[2],
    }


def mean_t_interval(values: list[float]) -> tuple[float, float, float]:
    """(mean, 95 % low, high): Student's t over a few repeated timings."""
    from scipy.stats import t

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    half = float(t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / len(values) ** 0.5
    return mean, max(0.0, mean - half), mean + half


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
