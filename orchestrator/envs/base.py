"""The base of every simulator config: what a simulator must provide (an env, its LeRobot features, the mapping of its
observations to them). orchestrator/envs/configs.py gathers the simulators that derive from it."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import draccus
import gymnasium as gym
import numpy as np

from orchestrator.configs.checks import positive
from orchestrator.configs.features import PolicyFeature
from orchestrator.errors import Problem


@dataclass
class EnvConfig(draccus.ChoiceRegistry):
    """Base of every simulator config."""

    fps: int = 10  # control frequency of the env (and of datasets recorded in it)
    episode_length: int = 300  # steps before an episode is truncated

    @property
    def type(self) -> str:
        return self.get_choice_name(self.__class__)

    @property
    def task_description(self) -> str:
        """The task in words, as LeRobot datasets store it (meta/tasks)."""
        return self.type

    def problems(self) -> list[Problem]:
        return positive("fps", self.fps) + positive("episode_length", self.episode_length)

    @abc.abstractmethod
    def make(self) -> gym.Env:
        """One env instance (time-limited to episode_length); info["is_success"] says whether the task is solved."""

    @abc.abstractmethod
    def features(self) -> dict[str, PolicyFeature]:
        """LeRobot features (observations and action) this env produces and consumes; images are (C, H, W)."""

    @abc.abstractmethod
    def to_frame(self, observation) -> dict[str, np.ndarray]:
        """Map one (or a batch of) raw env observation(s) to LeRobot feature names.

        Vectors come out float32; images uint8 (H, W, C), or (B, H, W, C) for a batch, as cameras give them.
        """
