"""Per-feature statistics in LeRobot's layout (min, max, mean, std, count and quantiles), used for normalization.

Vectors get one value per dimension. Camera frames (uint8 (T, H, W, 3)) are scaled to [0, 1] and get one value
per channel, shaped (3, 1, 1) so that they broadcast over (C, H, W) images, as LeRobot's are.
"""

from __future__ import annotations

import warnings

import numpy as np

from orchestrator.configs.features import feature_type_of

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}  # LeRobot's quantile stats
MAX_IMAGE_SAMPLES_PER_EPISODE = 100  # image stats use at most this many evenly spaced frames of each episode
IDENTITY = {"mean": 0.0, "std": 1.0, "min": -1.0, "max": 1.0}  # stands in for a stat that is NaN (or inf)
IMAGENET_STATS = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}  # per RGB channel, as LeRobot's


def compute_stats(episodes: list[dict[str, np.ndarray]], columns: dict[str, dict]) -> dict[str, dict[str, np.ndarray]]:
    """Stats over the frames of every episode, per column of `columns` (info.json feature entries), in float64.

    Each stat has the shape of one frame (scalars become shape (1,), images (3, 1, 1)); `count` is [n_frames].
    """
    stats = {}
    for key, column in columns.items():
        if column["dtype"] in ("image", "video"):
            stats[key] = _image_stats([episode[key] for episode in episodes])
            continue
        data = np.concatenate([np.asarray(episode[key]) for episode in episodes]).astype(np.float64)
        stats[key] = _stats(data[:, None] if data.ndim == 1 else data, len(data))
    return stats


def _stats(data: np.ndarray, count: int, axis=0, keepdims: bool = False) -> dict[str, np.ndarray]:
    quantiles = np.quantile(data, list(QUANTILES.values()), axis=axis, keepdims=keepdims)
    return {
        "min": data.min(axis=axis, keepdims=keepdims),
        "max": data.max(axis=axis, keepdims=keepdims),
        "mean": data.mean(axis=axis, keepdims=keepdims),
        "std": data.std(axis=axis, keepdims=keepdims),
        "count": np.array([count]),
        **dict(zip(QUANTILES, quantiles)),
    }


def _image_stats(episodes: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-channel stats of (T, H, W, 3) uint8 frames in [0, 1], each stat of shape (3, 1, 1)."""
    sampled = [
        frames[np.unique(np.linspace(0, len(frames) - 1, MAX_IMAGE_SAMPLES_PER_EPISODE).round().astype(int))]
        for frames in episodes
    ]
    data = np.concatenate(sampled).transpose(3, 0, 1, 2).astype(np.float64) / 255.0  # (3, N, H, W)
    stats = _stats(data.reshape(3, -1), sum(len(frames) for frames in episodes), axis=1, keepdims=True)
    return {name: value if name == "count" else value[..., None] for name, value in stats.items()}


def sanitize_stats(stats: dict[str, dict[str, np.ndarray]], source: str) -> dict[str, dict[str, np.ndarray]]:
    """Stats safe to normalize with, for the features policies see (observations, action): NaN/inf entries are
    replaced, and a zero std (a constant feature) becomes 1, with a warning naming `source` and the stat.
    """
    out = dict(stats)
    for key, feature_stats in stats.items():
        if feature_type_of(key) is None:
            continue
        out[key] = dict(feature_stats)
        for name, value in feature_stats.items():
            value = np.asarray(value, dtype=np.float64)
            bad = ~np.isfinite(value)
            if bad.any():
                warnings.warn(
                    f"{source}: stats[{key!r}][{name!r}] holds NaN/inf; using {IDENTITY.get(name, 0.0)} there",
                    stacklevel=2,
                )
                out[key][name] = np.where(bad, IDENTITY.get(name, 0.0), value)
        std = out[key].get("std")
        if std is not None and np.any(np.asarray(std) == 0):
            warnings.warn(
                f"{source}: stats[{key!r}]['std'] is 0 in some dimension (a constant feature); using 1 there",
                stacklevel=2,
            )
            out[key]["std"] = np.where(np.asarray(std) == 0, 1.0, std)
    return out


NORMALIZATION_STATS = ("mean", "std", "min", "max")  # what normalization may ask for


def complete_stats(meta, arrays: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """`meta.stats` with every policy feature's normalization stats present: LeRobot's reader accepts a dataset
    without meta/stats.json (or without some feature's entry). Vector features missing there are computed from
    `arrays` (the reader's columns, every frame); cameras get identity stats. Both with a warning naming them."""
    out, computed, identity = dict(meta.stats), [], []
    for key, feature in meta.features.items():
        if all(name in out.get(key, {}) for name in NORMALIZATION_STATS):
            continue
        if key in arrays:
            data = np.asarray(arrays[key], dtype=np.float64).reshape(len(arrays[key]), -1)
            out[key] = {**_stats(data, len(data)), **out.get(key, {})}
            out[key] = {
                name: np.asarray(value).reshape(feature.shape) if name != "count" else value
                for name, value in out[key].items()
            }
            computed.append(key)
        else:
            shape = (feature.shape[0], 1, 1)
            out[key] = {**{name: np.full(shape, value) for name, value in IDENTITY.items()}, **out.get(key, {})}
            identity.append(key)
    source = f"{meta.root}/meta/stats.json"
    if computed:
        warnings.warn(
            f"{source}: no normalization stats for {computed}; computed them from the data files", stacklevel=2
        )
    if identity:
        warnings.warn(
            f"{source}: no normalization stats for the cameras {identity}; they are not normalized "
            f"(as LeRobot does without stats)",
            stacklevel=2,
        )
    return out


def with_imagenet_stats(
    stats: dict[str, dict[str, np.ndarray]], camera_keys: list[str]
) -> dict[str, dict[str, np.ndarray]]:
    """`stats` with each camera's mean and std replaced by ImageNet's, shaped (3, 1, 1) (LeRobot's
    dataset.use_imagenet_stats, on by default there: the ResNet backbones were trained on images normalized so)."""
    out = dict(stats)
    for key in camera_keys:
        out[key] = {
            **stats.get(key, {}),
            **{name: np.asarray(v, dtype=np.float64).reshape(3, 1, 1) for name, v in IMAGENET_STATS.items()},
        }
    return out
