"""Confirmation: the search's best candidates and the baseline, re-evaluated on fresh episodes.

The winner of a search is the maximum of noisy numbers (the winner's curse): its search score is biased upwards.
So after the search, the best checkpoints of the top `tune.confirm_top_k` trials and the baseline's best checkpoint
are evaluated again on up to `tune.confirm_episodes` episodes whose seeds (from `tune.confirm_seed`) never appeared
in the search, in parallel on evaluator actors, and the winner is chosen by that confirmation. Every entry runs the
same seeds, in stages of `tune.confirm_stage_episodes`; after each stage `decided` (the sweep's decision rule,
orchestrator/results/confirmation.py) may end it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator import metrics as M
from orchestrator.results.candidates import Candidate, local_pretrained
from orchestrator.configs.parsing import encode
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.results.stats import mean_interval, wilson_interval
from orchestrator.terminal import progress


@dataclass
class Confirmed:
    """A candidate's result on the confirmation episodes."""

    label: str  # the trial id, or "baseline"
    candidate: Candidate
    successes: int
    n_episodes: int
    success: float
    success_ci95: tuple[float, float]  # Wilson
    avg_sum_reward: tuple[float, float, float]  # mean, 95 % low, high
    avg_max_reward: tuple[float, float, float]
    episodes: list[tuple[int, bool, float, float]] = field(default_factory=list)  # (seed, success, sum, max reward)
    eval_s: float = 0.0  # wall seconds from the confirmation's start until its episodes were in (the candidates
    #   share the actors, queued in order: a later candidate's time includes the earlier ones' episodes)

    def value(self, metric: str) -> float | None:
        """The confirmed value of an eval/ metric (success or an average reward)."""
        return {M.EVAL_SUCCESS: self.success, M.EVAL_SUCCESS_LOW: self.success_ci95[0],
                M.EVAL_SUCCESS_HIGH: self.success_ci95[1], M.EVAL_AVG_SUM_REWARD: self.avg_sum_reward[0],
                M.EVAL_AVG_MAX_REWARD: self.avg_max_reward[0]}.get(metric)

    def interval(self, metric: str) -> tuple[float, float, float] | None:
        """(value, 95 % low, high) of an eval/ metric on the confirmation episodes (a point where none applies)."""
        spans = {M.EVAL_SUCCESS: (self.success, *self.success_ci95), M.EVAL_AVG_SUM_REWARD: self.avg_sum_reward,
                 M.EVAL_AVG_MAX_REWARD: self.avg_max_reward}
        value = self.value(metric)
        return spans.get(metric) or (None if value is None else (value, value, value))


def overlapping_seeds(cfg: TrainPipelineConfig, confirm_seed: int, confirm_episodes: int) -> bool:
    """Whether the confirmation episodes would reuse a seed the search evaluated on."""
    search = range(cfg.eval.seed, cfg.eval.seed + max(cfg.eval.n_episodes, cfg.most_eval_episodes()))
    confirm = range(confirm_seed, confirm_seed + confirm_episodes)
    return max(search.start, confirm.start) < min(search.stop, confirm.stop)


def confirm(cfg: TrainPipelineConfig, entries: list[tuple[str, Candidate]], n_episodes: int, first_seed: int,
            stage: int = 0, decided: Callable[[list[Confirmed]], bool] | None = None) -> list[Confirmed]:
    """Evaluate each entry's checkpoint on the same fresh episodes (seeds first_seed, first_seed + 1, ...), all at
    once on evaluator actors (as many as the cluster's free CPUs allow); results in the order of `entries`. With
    `stage` (0 < stage < n_episodes), in stages of that many episodes: after each, `decided(results so far)` may stop
    it before n_episodes."""
    import ray

    from orchestrator.policies.factory import load_policy
    from trainables.evaluator import EvalPool, create_actors

    stage = stage if 0 < stage < n_episodes else n_episodes
    free = int(ray.available_resources().get("CPU", 1) // max(cfg.resources.cpus_per_eval_actor, 1e-9))
    n_actors = max(1, min(free, stage))
    actors = create_actors(encode(cfg), n_actors, cfg.resources.cpus_per_eval_actor, owner="confirm",
                           gpus_per_actor=cfg.resources.gpus_per_eval_actor)
    raw: list[list] = [[] for _ in entries]  # each entry's evaluated episodes
    seconds = [0.0 for _ in entries]
    results: list[Confirmed] = []
    try:
        policies = []
        for _, candidate in entries:
            assert candidate.checkpoint_path is not None, "a candidate to confirm has a committed checkpoint"
            policies.append(load_policy(local_pretrained(candidate.checkpoint_path)))
        start, done = time.perf_counter(), 0
        with progress(f"confirming on up to {n_episodes} fresh episodes", len(entries) * n_episodes) as advance:
            while done < n_episodes:
                k = min(stage, n_episodes - done)
                pools = []
                for (_, candidate), policy in zip(entries, policies):  # queued at once; the actors share the work
                    pool = EvalPool(actors, k, first_seed + done)
                    pool.submit(candidate.step, policy)
                    pools.append(pool)
                for i, pool in enumerate(pools):
                    raw[i] += pool.collect()
                    seconds[i] = time.perf_counter() - start
                    advance(k)
                done += k
                results = [_confirmed(label, candidate, episodes, s)
                           for (label, candidate), episodes, s in zip(entries, raw, seconds)]
                if done < n_episodes and decided is not None and decided(results):
                    break
    finally:
        for actor in actors:
            ray.kill(actor)
    return results


def _confirmed(label: str, candidate: Candidate, episodes, eval_s: float) -> Confirmed:
    episodes = sorted(episodes, key=lambda e: e.seed)
    successes = sum(e.success for e in episodes)
    n = len(episodes)
    return Confirmed(label, candidate, successes, n, successes / n, wilson_interval(successes, n),
                     mean_interval([e.sum_reward for e in episodes]), mean_interval([e.max_reward for e in episodes]),
                     [(e.seed, e.success, e.sum_reward, e.max_reward) for e in episodes], eval_s)
