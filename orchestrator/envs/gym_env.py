"""Any registered gymnasium env with a flat Box observation and a Box action (`--env.type=gym --env.id=...`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import gymnasium as gym
import numpy as np

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.envs.base import EnvConfig
from orchestrator.errors import Problem, problem


@EnvConfig.register_subclass("gym")
@dataclass
class GymEnvConfig(EnvConfig):
    """A gymnasium id: its observation becomes observation.environment_state (the env's whole state, which LeRobot's
    ACT and Diffusion Policy take without a camera), its action is the policy's action.

    Discrete action spaces are refused (the policies here regress continuous actions); success is the env's
    info["is_success"] when it reports one, else never.
    """

    id: str | None = None  # gymnasium id, e.g. "Pendulum-v1"; "module:Id" imports the module that registers Id
    kwargs: dict | None = None  # extra keyword arguments for gym.make

    @property
    def task_description(self) -> str:
        return f"gymnasium {self.id}"

    def problems(self) -> list[Problem]:
        out = super().problems()
        if not self.id:
            return out + [problem("id", "is required: a registered gymnasium id, e.g. Pendulum-v1")]
        try:
            observation_space, action_space = self._spaces
        except Exception as error:  # noqa: BLE001  (gymnasium raises several types for unknown or broken ids)
            return out + [problem("id", f"gym.make failed: {error}", self.id)]
        if not _is_flat_box(observation_space):
            out.append(
                problem(
                    "id",
                    f"needs a 1-d Box observation space (it becomes observation.state); this env "
                    f"has {observation_space}",
                    self.id,
                )
            )
        if not _is_flat_box(action_space):
            out.append(
                problem(
                    "id", f"needs a 1-d Box action space (continuous actions); this env has {action_space}", self.id
                )
            )
        return out

    def make(self) -> gym.Env:
        assert self.id is not None, "env.id is required (problems() says so)"
        return gym.make(self.id, max_episode_steps=self.episode_length, **(self.kwargs or {}))

    def features(self) -> dict[str, PolicyFeature]:
        observation_space, action_space = self._spaces
        assert observation_space.shape is not None and action_space.shape is not None, "Box spaces (problems())"
        return {
            "observation.environment_state": PolicyFeature(FeatureType.ENV, tuple(observation_space.shape)),
            "action": PolicyFeature(FeatureType.ACTION, tuple(action_space.shape)),
        }

    def to_frame(self, observation) -> dict[str, np.ndarray]:
        return {"observation.environment_state": np.asarray(observation, dtype=np.float32)}

    @cached_property
    def _spaces(self) -> tuple[gym.Space, gym.Space]:
        """(observation space, action space), read from one env built once."""
        env = self.make()
        try:
            return env.observation_space, env.action_space
        finally:
            env.close()


def _is_flat_box(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 1
