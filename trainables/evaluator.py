"""Asynchronous evaluation: Ray actors holding gymnasium vector envs evaluate weights while training goes on.

The trial's driver creates the pool inside the trial's placement group (so the actors' CPUs are part of what the
trial reserved); rank 0 of the trainer puts the current weights in the object store and calls `submit`, then keeps
training; `poll` returns finished evaluations without waiting. An actor that dies is restarted by Ray
(max_restarts) and its task retried (max_task_retries), so the trial goes on.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import ray
import torch

from orchestrator.configs.parsing import build_config
from orchestrator.envs.rollout import rollout, summarize
from orchestrator.metrics import EVAL_SECONDS, EVAL_STEP
from orchestrator.plugins import import_user_packages


@ray.remote(max_restarts=3, max_task_retries=3)
class EvalActor:
    """Holds one policy instance and evaluates whatever weights it is handed."""

    def __init__(self, train_config: dict, num_threads: int):
        torch.set_num_threads(max(1, num_threads))
        import_user_packages()  # the user's own policy/env packages, named by the driver (orchestrator/plugins.py)
        self.cfg = build_config(train_config, [])
        self.policy = None
        self.policy_key = None

    def evaluate(self, snapshot: dict | None, seeds: list[int]) -> dict:
        """Evaluate `snapshot` ({"policy_config": json, "weights": state dict}) on one episode per seed; None
        evaluates the env's scripted expert on the same episodes."""
        start = time.perf_counter()
        if snapshot is not None and snapshot["policy_config"] != self.policy_key:  # built once; then swap weights
            self.policy = policy_from_config_json(snapshot["policy_config"])
            self.policy.eval()
            self.policy_key = snapshot["policy_config"]
        if snapshot is not None:
            self.policy.load_state_dict(snapshot["weights"])
        policy = None if snapshot is None else self.policy  # None: the env's scripted expert acts
        episodes = rollout(policy, self.cfg.env, seeds, self.cfg.eval.batch_size, self.cfg.eval.use_async_envs)
        return {"episodes": episodes, "seconds": time.perf_counter() - start}

    def pid(self) -> int:
        import os

        return os.getpid()


def policy_config_json(policy) -> str:
    """The policy's config (features included) as JSON: enough to rebuild the module in an actor."""
    import draccus

    from orchestrator.configs.policy import PolicyConfig

    return json.dumps(draccus.encode(policy.config, PolicyConfig))


def policy_from_config_json(text: str):
    """An untrained policy shaped like the one `text` describes; its weights arrive with each evaluation."""
    import draccus

    from orchestrator.configs.policy import PolicyConfig
    from orchestrator.policies.factory import policy_class

    cfg = draccus.decode(PolicyConfig, json.loads(text))
    return policy_class(cfg.type)(cfg)


@dataclass
class _Pending:
    step: int  # training step whose weights are being evaluated
    refs: list  # one ObjectRef per actor


class EvalPool:
    """Splits each evaluation's episodes over the actors and tracks evaluations in flight."""

    def __init__(self, actors: list, n_episodes: int, seed: int, episodes_at: Callable[[int], int] | None = None):
        self.actors = actors
        self.n_episodes = n_episodes
        self.seed = seed  # the same episodes for every trial and every evaluation: seed, seed + 1, ...
        self.episodes_at = episodes_at  # step -> episodes of that evaluation (None: always n_episodes)
        self.pending: list[_Pending] = []

    def submit(self, step: int, policy) -> None:
        """Hand `policy`'s current weights (one ObjectRef shared by all actors) to the actors; returns at once.
        `policy=None` evaluates the env's scripted expert on the same episodes."""
        snapshot = None if policy is None else ray.put(
            {"policy_config": policy_config_json(policy),
             "weights": {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()}})
        n = self.episodes_at(step) if self.episodes_at else self.n_episodes
        seeds = [self.seed + i for i in range(n)]
        shares = [seeds[i::len(self.actors)] for i in range(len(self.actors))]
        refs = [a.evaluate.remote(snapshot, s) for a, s in zip(self.actors, shares) if s]
        self.pending.append(_Pending(step, refs))

    def poll(self, wait: bool = False, wait_before: int | None = None) -> list[dict]:
        """Metrics of every finished evaluation, oldest first: all of them when wait=True, and at least those of the
        steps before `wait_before`."""
        finished = []
        for step, shares in self._finished(wait, wait_before):
            metrics = summarize([e for share in shares for e in share["episodes"]])
            metrics[EVAL_STEP] = step
            metrics[EVAL_SECONDS] = max(share["seconds"] for share in shares)  # actors run in parallel
            finished.append(metrics)
        return finished

    def collect(self) -> list:
        """Wait for every evaluation in flight; their episodes (EpisodeResult), in submission order."""
        return [e for _, shares in self._finished(wait=True) for share in shares for e in share["episodes"]]

    def _finished(self, wait: bool, wait_before: int | None = None) -> list[tuple[int, list[dict]]]:
        finished = []
        for p in list(self.pending):
            block = wait or (wait_before is not None and p.step < wait_before)
            ready, _ = ray.wait(p.refs, num_returns=len(p.refs), timeout=None if block else 0)
            if len(ready) == len(p.refs):
                finished.append((p.step, ray.get(p.refs)))
                self.pending.remove(p)
        return finished


def create_actors(train_config: dict, num_actors: int, cpus_per_actor: float) -> list:
    """Evaluator actors, actor i in bundle i+1 of the current trial's placement group (bundle 0 is the driver's);
    outside a trial (no placement group) they are scheduled like any actor."""
    from ray.util.placement_group import get_current_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    pg = get_current_placement_group()
    actors = []
    for i in range(num_actors):
        strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=i + 1) if pg else "DEFAULT"
        options = {"num_cpus": cpus_per_actor, "scheduling_strategy": strategy}
        actors.append(EvalActor.options(**options).remote(train_config, int(cpus_per_actor)))
    return actors
