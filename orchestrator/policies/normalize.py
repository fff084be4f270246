"""Normalization of a policy's inputs and outputs with the dataset's statistics.

Each feature is transformed by the mode its type maps to in `config.normalization_mapping`:
MEAN_STD: (x - mean) / std; MIN_MAX: [min, max] -> [-1, 1]; IDENTITY: unchanged (also for unmapped types).
The statistics are registered buffers: they follow `policy.to(device)` and are saved in model.safetensors,
so a loaded policy needs no dataset. A scale (std, or half the min-max range) below `EPS` is treated as 1:
a feature that is constant in the dataset is centred, never divided by zero.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from orchestrator.configs.features import FeatureType, NormalizationMode, PolicyFeature

EPS = 1e-6  # scales below this are replaced by 1

STATS_OF_MODE = {NormalizationMode.MEAN_STD: ("mean", "std"), NormalizationMode.MIN_MAX: ("min", "max")}


def stats_shape(feature: PolicyFeature) -> tuple[int, ...]:
    """Shape of a feature's statistics: per channel (C, 1, 1) for images, the feature's shape otherwise."""
    if feature.type == FeatureType.VISUAL:
        return (feature.shape[0], 1, 1)
    return tuple(feature.shape)


class Normalizer(nn.Module):
    """Normalizes and unnormalizes the features of a batch, keyed like the dataset ("observation.state", "action").

    Buffers are named `<key with dots as underscores>_<stat>`, e.g. `observation_state_mean`.
    Built without `stats`, the buffers hold NaN until `load_state_dict` (or safetensors) fills them.
    """

    def __init__(
        self,
        features: dict[str, PolicyFeature],
        mapping: dict[str, NormalizationMode],
        stats: dict[str, dict[str, Any]] | None = None,
    ):
        super().__init__()
        self.modes: dict[str, NormalizationMode] = {}
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

    def _shift_and_scale(self, key: str) -> tuple[Tensor, Tensor]:
        a, b = (getattr(self, self._buffer_name(key, stat)) for stat in STATS_OF_MODE[self.modes[key]])
        if self.modes[key] is NormalizationMode.MEAN_STD:
            shift, scale = a, b
        else:  # MIN_MAX: centre of the range, half its width
            shift, scale = (b + a) / 2, (b - a) / 2
        return shift, torch.where(scale < EPS, torch.ones_like(scale), scale)

    def normalize(self, key: str, x: Tensor) -> Tensor:
        """Normalize one feature; the statistics broadcast over leading batch/time dimensions."""
        if key not in self.modes:
            return x
        shift, scale = self._shift_and_scale(key)
        return (x - shift) / scale

    def unnormalize(self, key: str, x: Tensor) -> Tensor:
        """The exact inverse of `normalize`."""
        if key not in self.modes:
            return x
        shift, scale = self._shift_and_scale(key)
        return x * scale + shift

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """A new dict with every known feature of `batch` normalized; other entries are passed through."""
        return {key: self.normalize(key, value) for key, value in batch.items()}


def _stat_tensor(stats: dict[str, dict[str, Any]], key: str, stat: str, shape: tuple[int, ...]) -> Tensor:
    if key not in stats or stat not in stats[key]:
        raise ValueError(f"normalization needs stats[{key!r}][{stat!r}]; the dataset's stats have none")
    value = torch.as_tensor(stats[key][stat], dtype=torch.float32, device="cpu")
    if value.numel() != math.prod(shape):
        raise ValueError(f"stats[{key!r}][{stat!r}] has shape {tuple(value.shape)}; expected {shape}")
    return value.reshape(shape).clone()
