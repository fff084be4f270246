"""Normalization of a policy's inputs and outputs with the dataset's statistics, with LeRobot 0.4.4's maths.

Each feature is transformed by the mode its type maps to in `config.normalization_mapping` (unmapped types are
left as they are), exactly as LeRobot's NormalizerProcessorStep / UnnormalizerProcessorStep do:

    MEAN_STD    (x - mean) / (std + 1e-8)              inverse: x * std + mean
    MIN_MAX     2 (x - min) / (max - min) - 1          inverse: (x + 1) / 2 (max - min) + min
    QUANTILES   as MIN_MAX with q01 and q99;  QUANTILE10: with q10 and q90
                (a zero range is replaced by 1e-8 in the three range modes)

The statistics a mode needs are buffers (they follow `policy.to(device)` and travel in the state dict to evaluator
actors and DDP ranks) but are not written to model.safetensors: a saved policy keeps them in LeRobot's processor
files (orchestrator/policies/processors.py), with every statistic the dataset had for the policy's features.
A constant feature (std 0) gets std 1 when the dataset is read (orchestrator/datasets/stats.py), with a warning.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from orchestrator.configs.features import FeatureType, NormalizationMode, PolicyFeature

EPS = 1e-8  # LeRobot's eps

STATS_OF_MODE = {
    NormalizationMode.MEAN_STD: ("mean", "std"),
    NormalizationMode.MIN_MAX: ("min", "max"),
    NormalizationMode.QUANTILES: ("q01", "q99"),
    NormalizationMode.QUANTILE10: ("q10", "q90"),
}


def stats_shape(feature: PolicyFeature) -> tuple[int, ...]:
    """Shape of a feature's statistics: per channel (C, 1, 1) for images, the feature's shape otherwise."""
    if feature.type == FeatureType.VISUAL:
        return (feature.shape[0], 1, 1)
    return tuple(feature.shape)


class Normalizer(nn.Module):
    """Normalizes and unnormalizes the features of a batch, keyed like the dataset ("observation.state", "action").

    Buffers are named `<key with dots as underscores>_<stat>`, e.g. `observation_state_mean`.
    Built without `stats`, the buffers hold NaN until `load_state_dict` fills them. `stats` keeps every statistic
    given for the features (count and quantiles included), as CPU tensors, for the processor files.
    """

    def __init__(
        self,
        features: dict[str, PolicyFeature],
        mapping: dict[str, NormalizationMode],
        stats: dict[str, dict[str, Any]] | None = None,
    ):
        super().__init__()
        self.modes: dict[str, NormalizationMode] = {}
        self.stats: dict[str, dict[str, Tensor]] = {
            key: {name: torch.as_tensor(value, dtype=torch.float32).clone() for name, value in stats[key].items()}
            for key in features
            if stats is not None and key in stats
        }
        for key, feature in features.items():
            mode = NormalizationMode(mapping.get(FeatureType(feature.type).value, NormalizationMode.IDENTITY))
            if mode is NormalizationMode.IDENTITY:
                continue
            self.modes[key] = mode
            shape = stats_shape(feature)
            for stat in STATS_OF_MODE[mode]:
                name = self._buffer_name(key, stat)
                if hasattr(self, name):
                    raise ValueError(f"features {key!r} and another feature both map to the buffer name {name!r}")
                value = torch.full(shape, float("nan")) if stats is None else _stat_tensor(stats, key, stat, shape)
                self.register_buffer(name, value)

    @staticmethod
    def _buffer_name(key: str, stat: str) -> str:
        return f"{key.replace('.', '_')}_{stat}"

    def _stats(self, key: str) -> tuple[Tensor, Tensor]:
        return tuple(getattr(self, self._buffer_name(key, stat)) for stat in STATS_OF_MODE[self.modes[key]])

    def normalize(self, key: str, x: Tensor) -> Tensor:
        """Normalize one feature; the statistics broadcast over leading batch/time dimensions."""
        if key not in self.modes:
            return x
        a, b = self._stats(key)
        if self.modes[key] is NormalizationMode.MEAN_STD:
            return (x - a) / (b + EPS)
        return 2 * (x - a) / _range(a, b) - 1

    def unnormalize(self, key: str, x: Tensor) -> Tensor:
        """LeRobot's inverse of `normalize` (for MEAN_STD it leaves out the 1e-8, as LeRobot does)."""
        if key not in self.modes:
            return x
        a, b = self._stats(key)
        if self.modes[key] is NormalizationMode.MEAN_STD:
            return x * b + a
        return (x + 1) / 2 * _range(a, b) + a

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """A new dict with every known feature of `batch` normalized; other entries are passed through."""
        return {key: self.normalize(key, value) for key, value in batch.items()}


def _range(low: Tensor, high: Tensor) -> Tensor:
    span = high - low
    return torch.where(span == 0, torch.full_like(span, EPS), span)


def _stat_tensor(stats: dict[str, dict[str, Any]], key: str, stat: str, shape: tuple[int, ...]) -> Tensor:
    if key not in stats or stat not in stats[key]:
        raise ValueError(f"normalization needs stats[{key!r}][{stat!r}]; the dataset's stats have none")
    value = torch.as_tensor(stats[key][stat], dtype=torch.float32, device="cpu")
    if value.numel() != math.prod(shape):
        raise ValueError(f"stats[{key!r}][{stat!r}] has shape {tuple(value.shape)}; expected {shape}")
    return value.reshape(shape).clone()
