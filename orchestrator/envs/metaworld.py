"""MetaWorld 3.0.0: single-task Sawyer manipulation (MT1), state observations, randomized starts.

The 39-D observation is served as LeRobot's features: `observation.state`, the agent (hand xyz and gripper, the
first 4 values, LeRobot's MetaWorld `agent_pos`), and `observation.environment_state`, the rest (objects, previous
step, goal). LeRobot's ACT and Diffusion Policy need an image or an environment state among their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from orchestrator.configs.checks import one_of
from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.envs.base import EnvConfig
from orchestrator.errors import Problem, problem

MAX_PATH_LENGTH = 500  # MetaWorld refuses to step past this many steps in one episode
STATE_DIM = 39  # hand xyz, gripper, two objects' pose; the same for the previous step; goal xyz
AGENT_DIM = 4  # of those, the agent's: hand xyz and gripper opening (observation.state)
ACTION_DIM = 4  # hand delta xyz, gripper effort, each in [-1, 1]
DESCRIPTIONS = {  # task -> what it asks, for the tasks named in the docs (others use their name)
    "reach": "reach a goal position",
    "push": "push the puck to a goal",
    "pick-place": "pick and place a puck to a goal",
    "door-open": "open a door with a revolving joint",
    "drawer-open": "open a drawer",
    "button-press": "press a button",
    "assembly": "pick up a nut and place it onto a peg",
}


def task_names() -> list[str]:
    """Every MetaWorld v3 task, without the "-v3" suffix (e.g. "pick-place")."""
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    return sorted(name.removesuffix("-v3") for name in ALL_V3_ENVIRONMENTS)


@EnvConfig.register_subclass("metaworld")
@dataclass
class MetaWorldEnvConfig(EnvConfig):
    """A MetaWorld task by name; an episode ends on success (as in LeRobot) or after episode_length steps."""

    task: str = "reach"  # task name without "-v3": reach, push, pick-place, door-open, drawer-open, assembly, ...
    fps: int = 80  # MetaWorld's control frequency (LeRobot's metaworld env uses 80)
    episode_length: int = 400  # steps before truncation (at most MetaWorld's 500)

    @property
    def task_description(self) -> str:
        return f"MetaWorld {self.task}: " + DESCRIPTIONS.get(self.task, self.task.replace("-", " "))

    def problems(self) -> list[Problem]:
        out = super().problems() + one_of("task", self.task, task_names())
        if isinstance(self.episode_length, int) and self.episode_length > MAX_PATH_LENGTH:
            out.append(
                problem("episode_length", f"must be <= {MAX_PATH_LENGTH} (MetaWorld's limit)", self.episode_length)
            )
        return out

    def make(self) -> gym.Env:
        return gym.wrappers.TimeLimit(MetaWorldEnv(self.task), self.episode_length)

    def features(self) -> dict[str, PolicyFeature]:
        return {
            "observation.state": PolicyFeature(FeatureType.STATE, (AGENT_DIM,)),
            "observation.environment_state": PolicyFeature(FeatureType.ENV, (STATE_DIM - AGENT_DIM,)),
            "action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,)),
        }

    def to_frame(self, observation) -> dict[str, np.ndarray]:
        observation = np.asarray(observation, dtype=np.float32)
        return {
            "observation.state": observation[..., :AGENT_DIM],
            "observation.environment_state": observation[..., AGENT_DIM:],
        }


class MetaWorldEnv(gym.Env):
    """One MetaWorld task as a gymnasium env whose reset(seed) draws a fresh, reproducible object/goal layout.

    MetaWorld's own reset ignores its seed and, once a task is set, replays one frozen layout; here the layout
    vector is drawn from the env's generator, seeded at reset. info["is_success"] is MetaWorld's info["success"].
    """

    metadata = {"render_modes": []}

    def __init__(self, task: str):
        import metaworld

        name = f"{task}-v3"
        benchmark = metaworld.MT1(name, seed=0)
        self._env = benchmark.train_classes[name]()
        self._env.set_task(benchmark.train_tasks[0])
        self._env._freeze_rand_vec = False  # draw a new layout at every reset...
        self._env.seeded_rand_vec = True  # ...from the env's own generator (seeded below), not numpy's global one
        self.task = task  # task name without "-v3"
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (STATE_DIM,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
        self.last_observation: np.ndarray | None = None  # the scripted expert acts on it

    def reset(self, *, seed: int | None = None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._env.seed(seed)
        self.last_observation, _ = self._env.reset()
        return self.last_observation, {"is_success": False}

    def step(self, action):
        self.last_observation, reward, _, truncated, info = self._env.step(np.asarray(action, dtype=np.float32))
        success = bool(info["success"])
        return self.last_observation, float(reward), success, truncated, {**info, "is_success": success}

    def close(self):
        self._env.close()
