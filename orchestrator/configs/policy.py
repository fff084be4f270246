"""The base of every policy config. Each policy registers a subclass in its own folder's configuration.py."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import draccus

from orchestrator.configs.checks import positive
from orchestrator.configs.features import FeatureType, NormalizationMode, PolicyFeature
from orchestrator.configs.optim import OptimizerConfig, SchedulerConfig
from orchestrator.errors import Problem, problem


@dataclass
class PolicyConfig(draccus.ChoiceRegistry):
    """Fields every policy has. Input/output features are filled from the dataset's metadata at build time."""

    n_obs_steps: int = 1  # number of observation frames the policy sees (current frame included)
    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.MEAN_STD,
            "STATE": NormalizationMode.MEAN_STD,
            "ENV": NormalizationMode.MEAN_STD,
            "ACTION": NormalizationMode.MEAN_STD,
        }
    )  # normalization per feature type (keys: VISUAL, STATE, ENV, ACTION)
    input_features: dict[str, PolicyFeature] = field(default_factory=dict)  # set from the dataset; leave empty
    output_features: dict[str, PolicyFeature] = field(default_factory=dict)  # set from the dataset; leave empty
    pretrained_path: str | None = None  # start from these weights (set by --policy.path=<folder or Hub id>)
    use_amp: bool | None = None  # bf16 autocast; None: on when the worker has a GPU, off on CPU
    # LeRobot's base-config fields, so that config.json files load both ways. Saved policies record the device
    # they were trained on; here the device follows resources.use_gpu. Pushing follows hub.repo_id/hub.private.
    device: str | None = None  # LeRobot's: the torch device the policy runs on (cpu, cuda, mps)
    use_peft: bool = False  # LeRobot's: the weights are a PEFT adapter (not supported here: must be false)
    push_to_hub: bool = True  # LeRobot's: push after training (here: hub.repo_id decides)
    repo_id: str | None = None  # LeRobot's: the Hub repo to push to (here: hub.repo_id)
    private: bool | None = None  # LeRobot's: create that repo as private (here: hub.private)
    tags: list[str] | None = None  # LeRobot's: tags for the model card
    license: str | None = None  # LeRobot's: license for the model card

    if TYPE_CHECKING:  # every policy's config declares it as a field, with its own default; the base Policy reads it

        @property
        def n_action_steps(self) -> int: ...

    @property
    def type(self) -> str:
        return self.get_choice_name(self.__class__)

    def problems(self) -> list[Problem]:
        out = positive("n_obs_steps", self.n_obs_steps)
        if self.use_peft:
            out.append(problem("use_peft", "PEFT adapters are not supported here: must be false", self.use_peft))
        return out

    @abc.abstractmethod
    def optimizer_preset(self) -> OptimizerConfig:
        """The optimizer this policy's authors train it with (used when use_policy_training_preset=true)."""

    @abc.abstractmethod
    def scheduler_preset(self) -> SchedulerConfig:
        """The learning-rate schedule this policy's authors train it with."""

    @property
    @abc.abstractmethod
    def action_delta_indices(self) -> list[int]:
        """Frame offsets of the actions one training sample holds (e.g. 0..chunk_size-1)."""

    @property
    def observation_delta_indices(self) -> list[int] | None:
        """Frame offsets of the observations one sample holds; None means the current frame only."""
        if self.n_obs_steps == 1:
            return None
        return list(range(1 - self.n_obs_steps, 1))

    def delta_timestamps(self, fps: float, keys: list[str]) -> dict[str, list[float]]:
        """LeRobot's delta_timestamps for a dataset with these `keys` recorded at `fps`."""
        out: dict[str, list[float]] = {}
        for key in keys:
            if key == "action":
                out[key] = [i / fps for i in self.action_delta_indices]
            elif key.startswith("observation.") and self.observation_delta_indices is not None:
                out[key] = [i / fps for i in self.observation_delta_indices]
        return out

    def features_of(self, kind: FeatureType) -> dict[str, PolicyFeature]:
        feats = {**self.input_features, **self.output_features}
        return {k: f for k, f in feats.items() if f.type == kind}
