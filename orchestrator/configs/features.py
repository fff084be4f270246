"""Feature descriptions shared by datasets, envs and policies (LeRobot's naming)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FeatureType(str, Enum):
    """What a feature is, which decides how a policy consumes and normalizes it."""

    STATE = "STATE"  # proprioception, e.g. observation.state
    ENV = "ENV"  # environment state, e.g. observation.environment_state (PushT keypoints)
    VISUAL = "VISUAL"  # camera images, observation.images.<camera>
    ACTION = "ACTION"  # the action


class NormalizationMode(str, Enum):
    """LeRobot's normalization modes (lerobot/configs/types.py), with its maths (orchestrator/policies/normalize.py)."""

    MEAN_STD = "MEAN_STD"  # (x - mean) / std
    MIN_MAX = "MIN_MAX"  # map [min, max] to [-1, 1]
    IDENTITY = "IDENTITY"  # leave as is
    QUANTILES = "QUANTILES"  # map [q01, q99] to [-1, 1]
    QUANTILE10 = "QUANTILE10"  # map [q10, q90] to [-1, 1]


@dataclass
class PolicyFeature:
    """One input or output of a policy: its type and its per-frame shape."""

    type: FeatureType = FeatureType.STATE  # what the feature is
    shape: tuple[int, ...] = field(default_factory=tuple)  # shape of one frame, e.g. (2,) or (3, 96, 96)


def feature_type_of(key: str) -> FeatureType | None:
    """LeRobot's convention for dataset keys -> feature types; None for bookkeeping columns."""
    if key == "action":
        return FeatureType.ACTION
    if key.startswith("observation.images.") or key == "observation.image":
        return FeatureType.VISUAL
    if key == "observation.environment_state":
        return FeatureType.ENV
    if key.startswith("observation."):
        return FeatureType.STATE
    return None
