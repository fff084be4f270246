"""Scripted experts that record demonstrations, by env type (`EnvConfig.type`).

An expert is built as Expert(seed=...); reset(env) after each env.reset(), then act(env) -> action at every step.
Experts read the live simulator (env.unwrapped), not the policy's observation, so they work with any obs_type.
"""

from typing import Protocol

import gymnasium as gym
import numpy as np

from orchestrator.envs.experts.aloha import AlohaTransferCubeExpert
from orchestrator.envs.experts.metaworld import MetaWorldExpert
from orchestrator.envs.experts.pusht import PushTExpert
from orchestrator.errors import Problem, problem


class Expert(Protocol):
    """What every expert class has (the docstring above)."""

    def __init__(self, seed: int = 0) -> None: ...

    def reset(self, env: gym.Env) -> None: ...

    def act(self, env: gym.Env) -> np.ndarray: ...


EXPERTS: dict[str, type[Expert]] = {  # env type -> expert class
    "pusht": PushTExpert,
    "metaworld": MetaWorldExpert,
    "aloha": AlohaTransferCubeExpert,
}
EXPERT_TASKS = {"aloha": ["transfer_cube"]}  # env types whose expert solves only these values of env.task


def expert_problems(env_type: str, task: str | None) -> list[Problem]:
    """Why an env (type and task) has no scripted expert to drive it; empty when it has one."""
    if env_type not in EXPERTS:
        return [problem("env.type", f"has no scripted expert; experts exist for {sorted(EXPERTS)}", env_type)]
    if env_type in EXPERT_TASKS and task not in EXPERT_TASKS[env_type]:
        return [problem("env.task", f"the {env_type} expert solves only {EXPERT_TASKS[env_type]}", task)]
    return []


class ExpertDriven(gym.Wrapper):
    """An env whose actions come from its scripted expert, whatever the caller sends: the expert's episodes then go
    through exactly the evaluation path a policy's do (vector env, autoreset, evaluator actors, success counting).
    The expert is seeded with each episode's reset seed, as when recording."""

    def __init__(self, env: gym.Env, env_type: str):
        super().__init__(env)
        self._expert_class = EXPERTS[env_type]
        self._expert: Expert | None = None

    def reset(self, *, seed=None, options=None):
        observation, info = self.env.reset(seed=seed, options=options)
        self._expert = self._expert_class(seed=0 if seed is None else seed)
        self._expert.reset(self.env)
        return observation, info

    def step(self, action):
        assert self._expert is not None, "reset() builds the expert"
        return self.env.step(self._expert.act(self.env))
