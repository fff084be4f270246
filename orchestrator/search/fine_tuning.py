"""Checks, before Ray starts, that a sweep can fine-tune the saved policy it starts from (`--policy.path`).

A sampled policy field that changes the shape of a weight (dim_model, chunk_size, n_encoder_layers, ...) cannot
start from the saved weights: every trial would fail when loading them. Fields that keep the shapes (dropout,
kl_weight, the optimizer's, ...) are what a fine-tuning sweep searches. Shapes are found by building the policy on
PyTorch's meta device: no memory, no time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from orchestrator.configs.policy import PolicyConfig
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import Problem, UserError, problem
from orchestrator.policy_source import WEIGHTS_NAME
from orchestrator.search.space import candidate_values, describe


def weight_shapes(policy: PolicyConfig) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes (normalization statistics aside) of the policy `policy` describes, features included."""
    # torch only when shapes are compared (--policy.path, PBT): `sweep <file> --help` and the other checks stay light
    import torch

    from orchestrator.policies.base import NORMALIZER_PREFIX
    from orchestrator.policies.factory import make_policy

    with torch.device("meta"):
        model = make_policy(policy, {**policy.input_features, **policy.output_features}, None)
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith(NORMALIZER_PREFIX)}


def saved_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(folder / WEIGHTS_NAME), "pt") as f:
        return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}  # noqa: SIM118  (safe_open is not iterable)


def fine_tuning_problems(
    policy: PolicyConfig,
    space: dict[str, Any],
    config_of: Callable[[dict[str, Any]], TrainPipelineConfig] | None = None,
) -> list[Problem]:
    """One problem per sampled `policy.*` field with a value that changes a weight's shape (`config_of(sample)` is
    the trial config of a partial sample), and one if the baseline's `policy` does. Nothing to check without
    `policy.pretrained_path`."""
    if not policy.pretrained_path:
        return []
    folder = Path(policy.pretrained_path)
    saved = saved_shapes(folder)
    out: list[Problem] = []
    shapes = weight_shapes(policy)
    if shapes != saved:
        out.append(
            problem(
                "policy",
                f"the saved config with the fields set over it (flags, a search space's "
                f"defaults) does not fit the saved weights in {folder / WEIGHTS_NAME} (e.g. "
                f"{_changed(shapes, saved)[0]}): only fields that keep the weights' shapes may be changed "
                "(dropout, kl_weight, optimizer.*, ...)",
            )
        )
    if config_of is None:  # no way to build a sample's config: the sampled fields cannot be checked
        return out
    for key, value, tensor, dist in shape_changes(space, saved, lambda sample: weight_shapes(config_of(sample).policy)):
        out.append(
            problem(
                key,
                f"changes the shapes of the saved weights in {folder / WEIGHTS_NAME} "
                f"(e.g. {tensor}) at {value!r}: a sweep that starts from --policy.path can only search "
                "fields that keep them (dropout, kl_weight, optimizer.*, ...)",
                describe(dist),
            )
        )
    return out


def shape_changes(
    space: dict[str, Any],
    reference: dict[str, tuple[int, ...]],
    shapes_of: Callable[[dict[str, Any]], dict[str, tuple[int, ...]]],
    base: dict[str, Any] | None = None,
) -> Iterator[tuple]:
    """For each searched `policy.*` field, its first value whose weights' shapes (`shapes_of(partial sample)`)
    differ from `reference`: (field, value, a tensor whose shape changes, the field's distribution). Each field is
    judged alone: the other searched fields keep their values in `base` (those `reference` was built with). A value
    the config rejects is skipped: the space's own checks report it."""
    for key, dist in space.items():
        if not key.startswith("policy."):
            continue
        for value in candidate_values(dist):
            try:
                shapes = shapes_of({**(base or {}), key: value})
            except UserError:
                continue
            if shapes != reference:
                yield key, value, _changed(shapes, reference)[0], dist
                break


def _changed(shapes: dict, saved: dict) -> list[str]:
    return sorted(k for k in set(shapes) | set(saved) if shapes.get(k) != saved.get(k))
