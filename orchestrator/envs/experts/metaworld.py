"""MetaWorld's own scripted policies (`metaworld.policies`), one per task, acting on the state observation."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from metaworld.policies.policy import Policy


class MetaWorldExpert:
    """Deterministic: the shipped policies are hand-written controllers with no randomness."""

    def __init__(self, seed: int = 0):
        self.seed = seed  # unused (the policies are deterministic); kept for the common Expert(seed=...) signature
        self._policy: Policy | None = None

    def reset(self, env) -> None:
        """Pick the env's task's policy; call after env.reset()."""
        from metaworld.policies import ENV_POLICY_MAP

        # the task's policy class; typed as a factory since metaworld's map is inferred as of abstract Policy classes
        policy_class: Callable[[], Policy] = ENV_POLICY_MAP[f"{env.unwrapped.task}-v3"]
        self._policy = policy_class()

    def act(self, env) -> np.ndarray:
        """The next action (hand delta xyz, gripper effort), float32 of shape (4,), clipped to the action space."""
        assert self._policy is not None, "reset() picks the policy"
        with warnings.catch_warnings():  # "Constant(s) may be too high": the policies rely on the clipping below
            warnings.simplefilter("ignore", UserWarning)
            action = self._policy.get_action(env.unwrapped.last_observation)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
