"""gym-pusht: push a T-shaped block onto a target with a circular agent (Chi et al. 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from orchestrator.configs.checks import one_of, positive
from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.envs.base import EnvConfig
from orchestrator.errors import Problem

# our obs_type -> gym-pusht's obs_type
GYM_OBS_TYPES = {
    "keypoints": "environment_state_agent_pos",
    "state": "state",
    "pixels": "pixels",
    "pixels_agent_pos": "pixels_agent_pos",
}


@EnvConfig.register_subclass("pusht")
@dataclass
class PushTEnvConfig(EnvConfig):
    """gym-pusht at 10 Hz; success when the T covers > 95% of the target."""

    # "keypoints": agent position + 16-d block keypoints; "state": 5-d [agent, block, angle];
    # "pixels": a top-down image only; "pixels_agent_pos": the image + agent position (LeRobot's diffusion setup)
    obs_type: str = "keypoints"
    render_size: int = 96  # pixels: images are render_size x render_size (LeRobot's datasets use 96)

    @property
    def task_description(self) -> str:
        return "Push the T-shaped block onto the T-shaped target."

    def problems(self) -> list[Problem]:
        out = super().problems() + one_of("obs_type", self.obs_type, list(GYM_OBS_TYPES))
        if self.obs_type.startswith("pixels"):
            out += positive("render_size", self.render_size)
        return out

    def make(self) -> gym.Env:
        import gym_pusht  # noqa: F401  (registers gym_pusht/PushT-v0)

        return gym.make(
            "gym_pusht/PushT-v0",
            obs_type=GYM_OBS_TYPES[self.obs_type],
            max_episode_steps=self.episode_length,
            observation_width=self.render_size,
            observation_height=self.render_size,
        )

    def features(self) -> dict[str, PolicyFeature]:
        agent = {"observation.state": PolicyFeature(FeatureType.STATE, (2,))}
        image = {"observation.image": PolicyFeature(FeatureType.VISUAL, (3, self.render_size, self.render_size))}
        observations = {
            "keypoints": {**agent, "observation.environment_state": PolicyFeature(FeatureType.ENV, (16,))},
            "state": {"observation.state": PolicyFeature(FeatureType.STATE, (5,))},
            "pixels": image,
            "pixels_agent_pos": {**image, **agent},
        }[self.obs_type]
        return {**observations, "action": PolicyFeature(FeatureType.ACTION, (2,))}

    def to_frame(self, observation) -> dict[str, np.ndarray]:
        if self.obs_type == "state":
            return {"observation.state": np.asarray(observation, dtype=np.float32)}
        if self.obs_type == "pixels":
            return {"observation.image": np.asarray(observation, dtype=np.uint8)}
        frame = {"observation.state": np.asarray(observation["agent_pos"], dtype=np.float32)}
        if self.obs_type == "keypoints":
            frame["observation.environment_state"] = np.asarray(observation["environment_state"], dtype=np.float32)
        else:
            frame["observation.image"] = np.asarray(observation["pixels"], dtype=np.uint8)
        return frame
