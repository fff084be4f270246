"""Simulator configs, selected by name (`--env.type=pusht`). Each maps env observations to LeRobot feature names."""
from __future__ import annotations

import abc
from dataclasses import dataclass

import draccus
import gymnasium as gym
import numpy as np

from orchestrator.configs.checks import one_of, positive
from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.errors import Problem


@dataclass
class EnvConfig(draccus.ChoiceRegistry):
    """Base of every simulator config."""

    fps: int = 10  # control frequency of the env (and of datasets recorded in it)
    episode_length: int = 300  # steps before an episode is truncated

    @property
    def type(self) -> str:
        return self.get_choice_name(self.__class__)

    def problems(self) -> list[Problem]:
        return positive("fps", self.fps) + positive("episode_length", self.episode_length)

    @abc.abstractmethod
    def make(self) -> gym.Env:
        """One env instance (time-limited to episode_length)."""

    @abc.abstractmethod
    def features(self) -> dict[str, PolicyFeature]:
        """LeRobot features (observations and action) this env produces and consumes."""

    @abc.abstractmethod
    def to_frame(self, observation) -> dict[str, np.ndarray]:
        """Map one (or a batch of) raw env observation(s) to LeRobot feature names."""


@EnvConfig.register_subclass("pusht")
@dataclass
class PushTEnvConfig(EnvConfig):
    """gym-pusht: push a T-shaped block onto a target with a circular agent (Chi et al. 2023)."""

    obs_type: str = "keypoints"  # "keypoints": agent position + 16-d block keypoints; "state": 5-d [agent, block, angle]

    def problems(self) -> list[Problem]:
        return super().problems() + one_of("obs_type", self.obs_type, ["keypoints", "state"])

    def make(self) -> gym.Env:
        import gym_pusht  # noqa: F401  (registers gym_pusht/PushT-v0)

        gym_obs_type = {"keypoints": "environment_state_agent_pos", "state": "state"}[self.obs_type]
        return gym.make("gym_pusht/PushT-v0", obs_type=gym_obs_type, max_episode_steps=self.episode_length)

    def features(self) -> dict[str, PolicyFeature]:
        action = {"action": PolicyFeature(FeatureType.ACTION, (2,))}
        if self.obs_type == "state":
            return {"observation.state": PolicyFeature(FeatureType.STATE, (5,)), **action}
        return {
            "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
            "observation.environment_state": PolicyFeature(FeatureType.ENV, (16,)),
            **action,
        }

    def to_frame(self, observation) -> dict[str, np.ndarray]:
        if self.obs_type == "state":
            return {"observation.state": np.asarray(observation, dtype=np.float32)}
        return {
            "observation.state": np.asarray(observation["agent_pos"], dtype=np.float32),
            "observation.environment_state": np.asarray(observation["environment_state"], dtype=np.float32),
        }
