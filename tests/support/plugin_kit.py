"""A package of a user's own, written outside the project at test time: a policy and an env registered by name."""

from __future__ import annotations

from pathlib import Path

PACKAGE = "my_robot_plugins"

SOURCE = '''"""My own policy and env for robot-sweeps (README: Bring your own policy or env)."""
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.configs.optim import AdamConfig, ConstantSchedulerConfig
from orchestrator.configs.policy import PolicyConfig
from orchestrator.envs.configs import EnvConfig
from orchestrator.policies.base import Policy
from orchestrator.policies.factory import register_policy


@PolicyConfig.register_subclass("linear_chunk")
@dataclass
class LinearChunkConfig(PolicyConfig):
    """A linear map from the observation to a chunk of actions."""

    chunk_size: int = 4  # actions predicted at once
    n_action_steps: int = 4  # actions executed from each chunk
    lr: float = 1e-3  # preset: Adam learning rate

    def optimizer_preset(self):
        return AdamConfig(lr=self.lr)

    def scheduler_preset(self):
        return ConstantSchedulerConfig()

    @property
    def action_delta_indices(self):
        return list(range(self.chunk_size))


@register_policy("linear_chunk")
class LinearChunkPolicy(Policy):
    config_class = LinearChunkConfig
    name = "linear_chunk"

    def __init__(self, config, stats=None):
        super().__init__(config, stats)
        self.keys = sorted(config.input_features)
        width = sum(config.input_features[k].shape[0] for k in self.keys)
        self.linear = nn.Linear(width, config.chunk_size * self.action_dim)

    def _predict(self, batch):
        x = torch.cat([batch[k].flatten(1) for k in self.keys], dim=-1)
        return self.linear(x).unflatten(-1, (self.config.chunk_size, self.action_dim))

    def forward(self, batch):
        batch = self.normalizer(batch)
        error = (self._predict(batch) - batch["action"]).abs() * ~batch["action_is_pad"].unsqueeze(-1)
        return error.mean(), {"l1_loss": error.mean().item()}

    @torch.no_grad()
    def predict_action_chunk(self, observation):
        return self.normalizer.unnormalize("action", self._predict(self.normalizer(observation)))


@EnvConfig.register_subclass("my_pendulum")
@dataclass
class MyPendulumConfig(EnvConfig):
    """Gymnasium's Pendulum, from a package of mine."""

    gravity: float = 10.0  # the pendulum's gravity (m/s^2)

    def make(self):
        return gym.make("Pendulum-v1", g=self.gravity, max_episode_steps=self.episode_length)

    def features(self):
        return {"observation.environment_state": PolicyFeature(FeatureType.ENV, (3,)),
                "action": PolicyFeature(FeatureType.ACTION, (1,))}

    def to_frame(self, observation):
        return {"observation.environment_state": np.asarray(observation, dtype=np.float32)}
'''


def write_plugin(folder: Path, package: str = PACKAGE) -> Path:
    """Write the package under `folder` (which then goes on PYTHONPATH); returns `folder`."""
    (folder / package).mkdir(parents=True, exist_ok=True)
    (folder / package / "__init__.py").write_text(SOURCE)
    return folder
