"""Intervals for what evaluation measures: success rates (binomial) and average rewards (means over episodes).

Every success rate the project prints carries its 95 % Wilson score interval (well-behaved at 0 and n successes,
unlike the normal one); a difference of two independent success rates carries Newcombe's hybrid score interval
(method 10 of Newcombe 1998, built from the two Wilson intervals). The confirmation's candidates share their episodes,
so "the sweep improved success by X points" uses the paired version (orchestrator/results/paired.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from orchestrator import metrics as M

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of a success rate."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the edges (no rounding residue)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def newcombe_interval(
    successes_a: int, n_a: int, successes_b: int, n_b: int, z: float = Z95
) -> tuple[float, float, float]:
    """Difference of two independent success rates, a - b, with its 95 % interval (Newcombe's method 10):
    returns (difference, low, high)."""
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson_interval(successes_a, n_a, z)
    low_b, high_b = wilson_interval(successes_b, n_b, z)
    d = p_a - p_b
    low = d - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = d + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return d, max(-1.0, low), min(1.0, high)


def mean_interval(values: Sequence[float], z: float = Z95) -> tuple[float, float, float]:
    """Mean of per-episode values with its normal-approximation 95 % interval: (mean, low, high)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = sum(values) / n
    if n == 1:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = z * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def eval_metrics(successes: Sequence[bool], sum_rewards: Sequence[float], max_rewards: Sequence[float]) -> dict:
    """LeRobot's aggregate eval metrics over episodes, with the success rate's 95 % Wilson interval."""
    n = len(successes)
    low, high = wilson_interval(int(sum(successes)), n)
    return {
        M.EVAL_SUCCESS: float(np.mean(successes)),
        M.EVAL_SUCCESS_LOW: low,
        M.EVAL_SUCCESS_HIGH: high,
        M.EVAL_SUCCESS_HALF_WIDTH: (high - low) / 2,
        M.EVAL_AVG_SUM_REWARD: float(np.mean(sum_rewards)),
        M.EVAL_AVG_MAX_REWARD: float(np.mean(max_rewards)),
        M.EVAL_N_EPISODES: n,
    }
