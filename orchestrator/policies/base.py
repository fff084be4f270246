"""The base of every policy: the contract the train loop, the evaluator and the Hub code rely on.

A policy takes RAW batches as a LeRobotDataset yields them and normalizes inside, so callers never see
statistics. Saved as a LeRobot policy folder: config.json (the draccus-encoded config, "type", features and
LeRobot's base fields included), model.safetensors (the weights, with LeRobot's names) and LeRobot's processor
files holding the normalization statistics (processors.py). LeRobot's `from_pretrained` and
`make_pre_post_processors(config, pretrained_path=folder)` load it, and `from_pretrained` here loads LeRobot's.
"""

from __future__ import annotations

import abc
import json
from collections import deque
from pathlib import Path
from typing import Generic, TypeVar

import draccus
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_file
from torch import Tensor, nn

from orchestrator.configs.features import FeatureType
from orchestrator.configs.policy import PolicyConfig
from orchestrator.errors import Problem, UserError, problem, raise_if
from orchestrator.policies.normalize import Normalizer
from orchestrator.policies.processors import read_processor_stats, write_processors
from orchestrator.policy_source import CONFIG_NAME, WEIGHTS_NAME  # the saved-policy layout, shared with --policy.path

NORMALIZER_PREFIX = "normalizer."  # state-dict keys of the statistics, which live in the processor files instead

ConfigT = TypeVar("ConfigT", bound=PolicyConfig)


class Policy(nn.Module, abc.ABC, Generic[ConfigT]):
    """A policy: training loss on dataset batches, and actions for (vector) envs through an action queue.

    Subclasses set `config_class` and `name` (and `accepts_images`) and implement `forward` and
    `predict_action_chunk`. Images are float32 in [0, 1], (B, C, H, W), normalized per channel.
    The device is the caller's: `policy.to(device)` moves weights and normalization buffers alike.
    """

    config_class: type[ConfigT]
    config: ConfigT
    name: str
    accepts_images: bool = False  # whether VISUAL input features (cameras) are allowed

    def __init__(self, config: ConfigT, stats: dict[str, dict] | None = None):
        """`stats[key]` holds the dataset's "mean", "std", "min", "max" arrays; None when loading weights."""
        super().__init__()
        raise_if(self.feature_problems(config), f"{self.name} policy cannot use these features")
        self.config = config
        self.normalizer = Normalizer(
            {**config.input_features, **config.output_features}, config.normalization_mapping, stats
        )
        self._action_queue: deque[Tensor] = deque(maxlen=config.n_action_steps)

    @classmethod
    def feature_problems(cls, config: ConfigT) -> list[Problem]:
        """1-D STATE/ENV inputs, images (C, H, W) if `accepts_images`, and one 1-D "action" output.

        Policies override it to add their own rules (and call it first).
        """
        out = []
        if not config.input_features:
            out.append(problem("policy.input_features", "the dataset has no observation features"))
        for key, feature in config.input_features.items():
            field = f"policy.input_features[{key}]"
            if feature.type == FeatureType.VISUAL and not cls.accepts_images:
                out.append(
                    problem(
                        field,
                        f"images are not supported by the {cls.name} policy: use a policy that "
                        "takes images (e.g. act), or a dataset without cameras",
                    )
                )
            elif feature.type == FeatureType.VISUAL and len(feature.shape) != 3:
                out.append(problem(field, "an image must have the shape (channels, height, width)", feature.shape))
            elif feature.type != FeatureType.VISUAL and (
                feature.type not in (FeatureType.STATE, FeatureType.ENV) or len(feature.shape) != 1
            ):
                out.append(problem(field, "must be a 1-D STATE or ENV feature", feature))
        action = config.output_features.get("action")
        if (
            action is None
            or set(config.output_features) != {"action"}
            or action.type != FeatureType.ACTION
            or len(action.shape) != 1
        ):
            out.append(
                problem(
                    "policy.output_features",
                    "must be exactly one 1-D ACTION feature named 'action'",
                    config.output_features,
                )
            )
        return out

    @property
    def action_dim(self) -> int:
        return self.config.output_features["action"].shape[0]

    @abc.abstractmethod
    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """The training loss on a RAW batch, and floats to log.

        `batch` holds each input feature (B, *shape), "action" (B, chunk_size, action_dim) and
        "action_is_pad" (B, chunk_size) bool.
        """

    @abc.abstractmethod
    def predict_action_chunk(self, observation: dict[str, Tensor]) -> Tensor:
        """RAW actions (B, chunk_size, action_dim) for RAW observations (B, *shape); no gradient."""

    def reset(self) -> None:
        """Forget queued actions: call it when the envs reset."""
        self._action_queue.clear()

    @torch.no_grad()
    def select_action(self, observation: dict[str, Tensor]) -> Tensor:
        """The next RAW action (B, action_dim) for B envs.

        The model is queried when the queue is empty, and its first n_action_steps actions are queued.
        Switches the module to eval mode (no dropout, no sampled latent).
        """
        self.eval()
        if not self._action_queue:
            chunk = self.predict_action_chunk(observation)[:, : self.config.n_action_steps]
            self._action_queue.extend(chunk.transpose(0, 1))  # n_action_steps tensors of shape (B, action_dim)
        return self._action_queue.popleft()

    def optim_param_groups(self) -> list[dict]:
        """Parameter groups for the optimizer: one group of every trainable parameter."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]

    def save_pretrained(self, directory: Path | str) -> None:
        """Write a LeRobot policy folder: config.json, model.safetensors (the weights) and the processor files
        (the normalization statistics) to `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        device = next(self.parameters()).device.type
        (directory / CONFIG_NAME).write_text(json.dumps(config_json(self.config, device), indent=4) + "\n")
        weights = {
            k: v.detach().cpu().contiguous().clone()
            for k, v in self.state_dict().items()
            if not k.startswith(NORMALIZER_PREFIX)
        }  # clones: safetensors refuses tensors sharing memory
        save_file(weights, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
        write_processors(directory, self.config, self.normalizer.stats, device)

    @classmethod
    def from_pretrained(cls, directory: Path | str) -> Policy:
        """Load a policy folder written by `save_pretrained` or by LeRobot (>= 0.4), on the CPU."""
        directory = Path(directory)
        config = read_config(directory)
        if not isinstance(config, cls.config_class):
            raise UserError(
                problem(
                    str(directory / CONFIG_NAME),
                    f"holds a {config.type!r} policy, "
                    f"not {cls.name!r}: load it with orchestrator.policies.factory.load_policy",
                )
            )
        stats = read_processor_stats(directory)
        try:
            policy = cls(config, stats)
        except ValueError as e:  # a statistic the normalization needs is missing or has the wrong shape
            raise UserError(
                problem(str(directory), f"its processor files do not fit its config.json: {e}"), "not a policy folder"
            ) from None
        policy.load_weights(directory / WEIGHTS_NAME)
        return policy

    def load_weights(self, path: Path | str) -> None:
        """Load model.safetensors (written here or by LeRobot) into this policy: every weight must be there with
        its shape, and nothing else (normalization statistics, if the file has them, are not read from it)."""
        try:
            missing, unexpected = load_model(self, str(path), strict=False)
        except (OSError, RuntimeError, SafetensorError) as e:
            raise UserError(
                problem(str(path), f"does not hold the weights of this {self.name} policy: {str(e).splitlines()[0]}"),
                "wrong weights",
            ) from None
        missing = [k for k in missing if not k.startswith(NORMALIZER_PREFIX)]
        unexpected = [k for k in unexpected if not k.startswith(NORMALIZER_PREFIX)]
        if missing or unexpected:
            raise UserError(
                problem(
                    str(path),
                    f"does not hold the weights of this {self.name} policy: missing "
                    f"{missing[:5]}{' ...' if len(missing) > 5 else ''}, unexpected "
                    f"{unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}",
                ),
                "wrong weights",
            )


def config_json(config: PolicyConfig, device: str) -> dict:
    """config.json as LeRobot writes it: the draccus encoding with "type", `use_amp` a bool, the device trained on,
    and no backbone-weights source (the backbone's weights are in model.safetensors)."""
    out = draccus.encode(config, PolicyConfig)  # declared as the base class so "type" is written
    out.update(device=device, use_amp=bool(config.use_amp))
    if "pretrained_backbone_weights" in out:
        out["pretrained_backbone_weights"] = None
    return out


def read_config(directory: Path | str) -> PolicyConfig:
    """The PolicyConfig saved in `directory`/config.json, as its registered subclass, without a backbone-weights
    source (a saved policy's backbone is in its model.safetensors)."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise UserError(problem(str(directory), f"is not a saved policy: it has no {CONFIG_NAME}"))
    try:
        config = draccus.decode(PolicyConfig, json.loads(path.read_text()))
    except (ValueError, TypeError, draccus.utils.DecodingError) as e:
        raise UserError(
            problem(str(path), f"is not a policy config this version can read: {e}"), "not a policy folder"
        ) from None
    if hasattr(config, "pretrained_backbone_weights"):
        config.pretrained_backbone_weights = None
    return config
