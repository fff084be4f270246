"""Asynchronous evaluation: Ray actors holding gymnasium vector envs evaluate weights while training goes on.

The trial's driver creates the pool inside the trial's placement group (so the actors' CPUs are part of what the
trial reserved); rank 0 of the trainer puts the current weights in the object store and calls `submit`, then keeps
training; `poll` returns finished evaluations without waiting. An actor that dies is restarted by Ray
(max_restarts) and its task retried (max_task_retries), so the trial goes on.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import ray
import torch

from orchestrator.configs.parsing import build_config
from orchestrator.configs.policy import PolicyConfig
from orchestrator.envs.rollout import rollout, summarize
from orchestrator.metrics import DECISION_CODES, EVAL_DECISION, EVAL_SECONDS, EVAL_STEP
from orchestrator.plugins import import_user_packages
from orchestrator.policies.factory import policy_class
from orchestrator.results.sequential import COMPLETE, StagedEvaluation

if TYPE_CHECKING:
    from ray.actor import ActorClass


@ray.remote(max_restarts=3, max_task_retries=3)
class EvalActor:
    """Holds one policy instance and evaluates whatever weights it is handed."""

    def __init__(self, train_config: dict, num_threads: int):
        torch.set_num_threads(max(1, num_threads))
        import_user_packages()  # the user's own policy/env packages, named by the driver (orchestrator/plugins.py)
        self.cfg = build_config(train_config, [])
        self.policy: torch.nn.Module | None = None
        self.policy_key: str | None = None

    def evaluate(self, snapshot: dict | None, seeds: list[int]) -> dict:
        """Evaluate `snapshot` ({"policy_config": json, "weights": state dict}) on one episode per seed; None
        evaluates the env's scripted expert on the same episodes."""
        start = time.perf_counter()
        if snapshot is not None and snapshot["policy_config"] != self.policy_key:  # built once; then swap weights
            # on the GPU share Ray gave this actor (resources.gpus_per_eval_actor), else the CPU
            device = torch.device("cuda") if ray.get_gpu_ids() and torch.cuda.is_available() else torch.device("cpu")
            self.policy = policy_from_config_json(snapshot["policy_config"]).to(device)
            self.policy.eval()
            self.policy_key = snapshot["policy_config"]
        if snapshot is not None:
            assert self.policy is not None, "built above"
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

    return json.dumps(draccus.encode(policy.config, PolicyConfig))


def policy_from_config_json(text: str):
    """An untrained policy shaped like the one `text` describes; its weights arrive with each evaluation."""
    import draccus

    cfg = draccus.decode(PolicyConfig, json.loads(text))
    return policy_class(cfg.type)(cfg)


@dataclass
class _Pending:
    step: int  # training step whose weights are being evaluated
    seeds: list[int]  # every planned episode's seed
    snapshot: Any  # ObjectRef of the weights (None: the scripted expert), kept for the later stages
    refs: list = field(default_factory=list)  # the stage in flight: one ObjectRef per actor
    shares: list = field(default_factory=list)  # finished shares of earlier stages ({"episodes", "seconds"})
    seconds: float = 0.0  # evaluation seconds so far (the actors of a stage run in parallel)
    decision: str | None = None  # set once the evaluation is complete (orchestrator/results/sequential.py)

    @property
    def episodes(self) -> list:
        return [e for share in self.shares for e in share["episodes"]]


class EvalPool:
    """Splits each evaluation's episodes over the actors and tracks evaluations in flight.

    With `stage_episodes` and an `incumbent` (the sweep's best evaluation so far, trainables/incumbent.py), an
    evaluation runs in stages and stops once it has decided (orchestrator/results/sequential.py): it cannot beat the
    incumbent, or it is already clearly better. `advance` moves stages on between reports (call it every step)."""

    def __init__(
        self,
        actors: list,
        n_episodes: int,
        seed: int,
        episodes_at: Callable[[int], int] | None = None,
        stage_episodes: int = 0,
        alpha: float = 0.05,
        incumbent=None,
    ):
        self.actors = actors
        self.n_episodes = n_episodes
        self.seed = seed  # the same episodes for every trial and every evaluation: seed, seed + 1, ...
        self.episodes_at = episodes_at  # step -> episodes of that evaluation (None: always n_episodes)
        self.stage_episodes, self.alpha, self.incumbent = stage_episodes, alpha, incumbent
        self.pending: list[_Pending] = []

    def submit(self, step: int, policy) -> None:
        """Hand `policy`'s current weights (one ObjectRef shared by all actors) to the actors; returns at once.
        `policy=None` evaluates the env's scripted expert on the same episodes."""
        snapshot = (
            None
            if policy is None
            else ray.put(
                {
                    "policy_config": policy_config_json(policy),
                    "weights": {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()},
                }
            )
        )
        n = self.episodes_at(step) if self.episodes_at else self.n_episodes
        pending = _Pending(step, [self.seed + i for i in range(n)], snapshot)
        self._run_stage(pending)
        self.pending.append(pending)

    def advance(self) -> None:
        """Without waiting: start the next stage of each staged evaluation whose stage finished undecided (called every
        training step: an unstaged evaluation is left to `poll`)."""
        for p in self.pending:
            if self._staged(p):
                self._advance(p, block=False)

    def poll(self, wait: bool = False, wait_before: int | None = None) -> list[dict]:
        """Metrics of every finished evaluation, oldest first: all of them when wait=True, and at least those of the
        steps before `wait_before`."""
        finished = []
        for p in self._finished(wait, wait_before):
            episodes = p.episodes
            metrics = summarize(episodes)
            metrics[EVAL_STEP] = p.step
            metrics[EVAL_SECONDS] = p.seconds
            if self._staged(p):
                assert p.decision is not None, "a finished evaluation has decided"
                metrics[EVAL_DECISION] = DECISION_CODES[p.decision]
            if self.incumbent is not None and p.snapshot is not None:  # the sweep's best so far, for the others
                self.incumbent.offer.remote(sum(e.success for e in episodes), len(episodes))
            finished.append(metrics)
        return finished

    def collect(self) -> list:
        """Wait for every evaluation in flight; their episodes (EpisodeResult), in submission order."""
        return [e for p in self._finished(wait=True) for e in p.episodes]

    def _finished(self, wait: bool, wait_before: int | None = None) -> list[_Pending]:
        finished = []
        for p in list(self.pending):
            if self._advance(p, block=wait or (wait_before is not None and p.step < wait_before)):
                finished.append(p)
                self.pending.remove(p)
        return finished

    def _staged(self, p: _Pending) -> bool:
        return bool(self.stage_episodes) and self.incumbent is not None and self.stage_episodes < len(p.seeds)

    def _run_stage(self, p: _Pending) -> None:
        done = len(p.episodes)
        k = min(self.stage_episodes, len(p.seeds) - done) if self._staged(p) else len(p.seeds) - done
        seeds = p.seeds[done : done + k]
        shares = [seeds[i :: len(self.actors)] for i in range(len(self.actors))]
        p.refs = [a.evaluate.remote(p.snapshot, s) for a, s in zip(self.actors, shares) if s]

    def _advance(self, p: _Pending, block: bool) -> bool:
        """Collect `p`'s stage if it finished (waiting for it, and every later stage, when `block`); start its next
        stage while undecided. Whether `p` is complete."""
        while p.decision is None:
            ready, _ = ray.wait(p.refs, num_returns=len(p.refs), timeout=None if block else 0)
            if len(ready) < len(p.refs):
                return False
            stage = ray.get(p.refs)
            p.shares += stage
            p.seconds += max(share["seconds"] for share in stage)
            episodes = p.episodes
            if len(episodes) >= len(p.seeds):
                p.decision = COMPLETE
            elif self._staged(p):
                rule = StagedEvaluation(self.stage_episodes, len(p.seeds), self.alpha)
                p.decision = rule.decide(
                    sum(e.success for e in episodes), len(episodes), ray.get(self.incumbent.best.remote())
                )
            if p.decision is None:
                self._run_stage(p)
        return True


def create_actors(
    train_config: dict, num_actors: int, cpus_per_actor: float, owner: str = "eval", gpus_per_actor: float = 0.0
) -> list:
    """Evaluator actors, actor i in bundle i+1 of the current trial's placement group (bundle 0 is the driver's);
    outside a trial (no placement group) they are scheduled like any actor. Each is named for whose it is
    (`<owner>/evaluator-<i>`, e.g. trial_3f2a1_00000/evaluator-0, confirm/evaluator-0), as the Ray dashboard's
    Actors page and `ray list actors` show it; a name still held (a dying run's actor) gets a suffix."""
    from ray.util.placement_group import get_current_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    pg = get_current_placement_group()
    actor_class = cast("ActorClass[EvalActor]", EvalActor)  # what @ray.remote made it (mypy keeps the class)
    actors = []
    for i in range(num_actors):
        strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=i + 1) if pg else "DEFAULT"
        options = {"num_cpus": cpus_per_actor, "num_gpus": gpus_per_actor, "scheduling_strategy": strategy}
        name = f"{owner}/evaluator-{i}"
        try:
            actor = actor_class.options(name=name, **options).remote(train_config, int(cpus_per_actor))
        except ValueError:  # the name is taken
            actor = actor_class.options(name=f"{name}-{uuid.uuid4().hex[:6]}", **options).remote(
                train_config, int(cpus_per_actor)
            )
        actors.append(actor)
    return actors
