"""Per-feature statistics in LeRobot's layout (min, max, mean, std, count and quantiles), used for normalization."""
from __future__ import annotations

import numpy as np

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}  # LeRobot's quantile stats


def compute_stats(episodes: list[dict[str, np.ndarray]], keys: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Stats over every frame of every episode, per key and per dimension (float64; bools count as 0/1).

    Each stat has the shape of one frame (scalars become shape (1,)), except `count`, which is [n_frames].
    """
    stats = {}
    for key in keys:
        data = np.concatenate([np.asarray(episode[key]) for episode in episodes]).astype(np.float64)
        if data.ndim == 1:
            data = data[:, None]
        quantiles = np.quantile(data, list(QUANTILES.values()), axis=0)
        stats[key] = {
            "min": data.min(axis=0),
            "max": data.max(axis=0),
            "mean": data.mean(axis=0),
            "std": data.std(axis=0),
            "count": np.array([len(data)]),
            **dict(zip(QUANTILES, quantiles)),
        }
    return stats
