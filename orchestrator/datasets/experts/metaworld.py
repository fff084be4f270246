"""MetaWorld's own scripted policies (`metaworld.policies`), one per task, acting on the state observation."""
from __future__ import annotations

import warnings

import numpy as np


class MetaWorldExpert:
    """Deterministic: the shipped policies are hand-written controllers with no randomness."""

    def __init__(self, seed: int = 0):
        self.seed = seed  # unused (the policies are deterministic); kept for the common Expert(seed=...) signature
        self._policy = None

    def reset(self, env) -> None:
        """Pick the env's task's policy; call after env.reset()."""
        from metaworld.policies import ENV_POLICY_MAP

        self._policy = ENV_POLICY_MAP[f"{env.unwrapped.task}-v3"]()

    def act(self, env) -> np.ndarray:
        """The next action (hand delta xyz, gripper effort), float32 of shape (4,), clipped to the action space."""
        with warnings.catch_warnings():  # "Constant(s) may be too high": the policies rely on the clipping below
            warnings.simplefilter("ignore", UserWarning)
            action = self._policy.get_action(env.unwrapped.last_observation)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
