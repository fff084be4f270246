"""The sweep's best evaluation so far, shared by every trial's evaluator: what a staged evaluation compares with
(eval.stage_episodes, orchestrator/results/sequential.py). One small named actor per sweep, created by the sweep's
driver for the whole search and looked up by name in each trial; it holds two numbers and schedules nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import ray

if TYPE_CHECKING:
    from ray.actor import ActorClass


@ray.remote(num_cpus=0, max_restarts=-1)
class Incumbent:
    """(successes, episodes) of the best evaluation offered: the highest success rate, then the most episodes."""

    def __init__(self):
        self._best: tuple[int, int] | None = None

    def offer(self, successes: int, n: int) -> None:
        if n and (self._best is None or (successes / n, n) > (self._best[0] / self._best[1], self._best[1])):
            self._best = (successes, n)

    def best(self) -> tuple[int, int] | None:
        return self._best


def incumbent_name(experiment_storage: str) -> str:
    """The actor's name for the sweep stored at `experiment_storage` (unique while that sweep runs)."""
    return f"robot-sweeps-incumbent:{experiment_storage}"


def create_incumbent(experiment_storage: str):
    """The sweep's incumbent (an existing one of that name is reused: a sweep resumed in the same Ray session)."""
    actor_class = cast("ActorClass[Incumbent]", Incumbent)  # what @ray.remote made it (mypy keeps the undecorated type)
    return actor_class.options(name=incumbent_name(experiment_storage), get_if_exists=True).remote()


def find_incumbent(name: str | None):
    """The actor named `name`, or None when there is none (a single run, the baseline)."""
    if not name:
        return None
    try:
        return ray.get_actor(name)
    except ValueError:
        return None
