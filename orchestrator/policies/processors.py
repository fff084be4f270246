"""LeRobot's processor files: where a saved policy keeps its normalization statistics (LeRobot >= 0.4).

    policy_preprocessor.json                                          rename -> to batch -> device -> normalizer
    policy_preprocessor_step_3_normalizer_processor.safetensors       "<feature>.<stat>" tensors
    policy_postprocessor.json                                         unnormalizer -> device
    policy_postprocessor_step_0_unnormalizer_processor.safetensors    the same tensors

Written with the steps, configs and tensor names of LeRobot 0.4.4's `make_pre_post_processors(...).save_pretrained`
for ACT and Diffusion Policy (see ../shared/lerobot/fixtures/policies), so that LeRobot's
`make_pre_post_processors(config, pretrained_path=folder)` rebuilds the pipelines with our statistics, and read back
from folders LeRobot wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from orchestrator.configs.features import FeatureType, NormalizationMode, PolicyFeature
from orchestrator.configs.policy import PolicyConfig
from orchestrator.errors import UserError, problem
from orchestrator.policies.normalize import EPS

PREPROCESSOR = "policy_preprocessor"
POSTPROCESSOR = "policy_postprocessor"
NORMALIZER_STEP = "normalizer_processor"
UNNORMALIZER_STEP = "unnormalizer_processor"
PROCESSOR_FILES = [
    f"{PREPROCESSOR}.json",
    f"{POSTPROCESSOR}.json",
    f"{PREPROCESSOR}_step_*.safetensors",
    f"{POSTPROCESSOR}_step_*.safetensors",
]  # glob patterns, e.g. for a Hub download


def _features_json(features: dict[str, PolicyFeature]) -> dict:
    return {key: {"type": FeatureType(f.type).value, "shape": list(f.shape)} for key, f in features.items()}


def write_processors(directory: Path, config: PolicyConfig, stats: dict[str, dict[str, Tensor]], device: str) -> None:
    """Write both pipelines and their statistics (`stats[feature][stat]`, CPU tensors) into `directory`."""
    norm_map = {kind: NormalizationMode(mode).value for kind, mode in config.normalization_mapping.items()}
    device_step = {"registry_name": "device_processor", "config": {"device": device, "float_dtype": None}}
    pre_state = f"{PREPROCESSOR}_step_3_{NORMALIZER_STEP}.safetensors"
    post_state = f"{POSTPROCESSOR}_step_0_{UNNORMALIZER_STEP}.safetensors"
    pre = {
        "name": PREPROCESSOR,
        "steps": [
            {"registry_name": "rename_observations_processor", "config": {"rename_map": {}}},
            {"registry_name": "to_batch_processor", "config": {}},
            device_step,
            {
                "registry_name": NORMALIZER_STEP,
                "config": {
                    "eps": EPS,
                    "features": _features_json({**config.input_features, **config.output_features}),
                    "norm_map": norm_map,
                },
                "state_file": pre_state,
            },
        ],
    }
    post = {
        "name": POSTPROCESSOR,
        "steps": [
            {
                "registry_name": UNNORMALIZER_STEP,
                "config": {"eps": EPS, "features": _features_json(config.output_features), "norm_map": norm_map},
                "state_file": post_state,
            },
            device_step,
        ],
    }
    tensors = {
        f"{key}.{name}": value.detach().cpu().contiguous()
        for key, feature_stats in stats.items()
        for name, value in feature_stats.items()
    }
    for name, pipeline, state in ((PREPROCESSOR, pre, pre_state), (POSTPROCESSOR, post, post_state)):
        (directory / f"{name}.json").write_text(json.dumps(pipeline, indent=2) + "\n")
        save_file(tensors, str(directory / state))


def read_processor_stats(directory: Path) -> dict[str, dict[str, Tensor]]:
    """`stats[feature][stat]` of the normalizer and unnormalizer steps of a saved policy folder (the unnormalizer's
    win for the features both hold); UserError naming the file when one is missing or unreadable."""
    stats: dict[str, dict[str, Tensor]] = {}
    for name, step in ((PREPROCESSOR, NORMALIZER_STEP), (POSTPROCESSOR, UNNORMALIZER_STEP)):
        for key, values in _step_stats(directory, name, step).items():
            stats.setdefault(key, {}).update(values)
    return stats


def _step_stats(directory: Path, name: str, registry_name: str) -> dict[str, dict[str, Tensor]]:
    path = directory / f"{name}.json"
    if not path.is_file():
        raise UserError(
            problem(
                str(path),
                "not found: a policy folder saved by LeRobot >= 0.4 (or by us) keeps its "
                "normalization statistics in its processor files; folders of older LeRobot versions "
                "keep them in model.safetensors: convert them with "
                "`python -m lerobot.processor.migrate_policy_normalization` first",
            ),
            "not a policy folder",
        )
    try:
        steps = json.loads(path.read_text())["steps"]
        step = next(s for s in steps if s.get("registry_name") == registry_name)
    except (ValueError, KeyError, TypeError, StopIteration):
        raise UserError(
            problem(str(path), f"is not a processor pipeline with a {registry_name!r} step"), "not a policy folder"
        ) from None
    if "state_file" not in step:
        return {}
    state_path = directory / step["state_file"]
    try:
        tensors = load_file(str(state_path))
    except (OSError, SafetensorError) as e:
        raise UserError(
            problem(str(state_path), f"cannot be read as safetensors ({e})"), "not a policy folder"
        ) from None
    out: dict[str, dict[str, Tensor]] = {}
    for flat, value in tensors.items():
        key, _, stat = flat.rpartition(".")
        out.setdefault(key, {})[stat] = value
    return out
