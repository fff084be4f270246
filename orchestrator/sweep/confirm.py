"""Confirmation: the search's best candidates and the baseline, re-evaluated on fresh episodes.

The winner of a search is the maximum of noisy numbers (the winner's curse): its search score is biased upwards.
So after the search, the best checkpoints of the top `tune.confirm_top_k` trials and the baseline's best checkpoint
are evaluated again on up to `tune.confirm_episodes` episodes whose seeds (from `tune.confirm_seed`) never appeared
in the search, in parallel on evaluator actors, and the winner is chosen by that confirmation. Every entry runs the
same seeds, in stages of `tune.confirm_stage_episodes`; after each stage `decided` (the sweep's decision rule,
orchestrator/results/confirmation.py) may end it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import ray

from orchestrator import metrics as M
from orchestrator.configs.parsing import encode
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.policies.factory import load_policy
from orchestrator.results.candidates import Candidate
from orchestrator.results.confirmed import Confirmed, confirmed_from
from orchestrator.runtime.storage import local_pretrained
from orchestrator.terminal import progress
from trainables.evaluator import EvalPool, create_actors


def overlapping_seeds(cfg: TrainPipelineConfig, confirm_seed: int, confirm_episodes: int) -> bool:
    """Whether the confirmation episodes would reuse a seed the search evaluated on."""
    search = range(cfg.eval.seed, cfg.eval.seed + max(cfg.eval.n_episodes, cfg.most_eval_episodes()))
    confirm = range(confirm_seed, confirm_seed + confirm_episodes)
    return max(search.start, confirm.start) < min(search.stop, confirm.stop)


# What starting one evaluator costs, in seconds of a core: a Python process importing Ray, torch and the env's
# packages, then making its envs (the evaluator's share of a trial's CPU, 1.7 CPU-s with its episodes: benchmarks/
# README.md (b)). Confirmation starts another evaluator only for at least this much work of its own.
EVALUATOR_START_S = 2.0


def evaluators_for(free_slots: int, episodes: int, seconds_per_episode: float | None) -> int:
    """How many evaluators share `episodes` (one stage of every entry): as many as the free CPUs hold, but none that
    would get less work than its own start-up (EVALUATOR_START_S) when the search measured the episodes' cost
    (`seconds_per_episode`; None: unknown, as many as fit). On cheap episodes (a tiny env, a small policy) one
    evaluator runs them all sooner than several would start, and for a fraction of the CPU."""
    most = max(1, min(free_slots, episodes))
    if seconds_per_episode is None:
        return most
    return max(1, min(most, math.floor(episodes * seconds_per_episode / EVALUATOR_START_S)))


# How long confirmation waits for the CPUs of the runs that just ended (the search's, the baseline's) to be free.
SETTLE_S = 5.0


def free_cpus(settle_s: float = SETTLE_S) -> float:
    """The cluster's free CPUs, once those of the runs that just ended are back: Ray releases a finished Train run's
    placement group a moment after its trial ends, so right after the baseline a CPU may still read as held (a
    fresh-clone demo then confirmed on one evaluator instead of two: 68 s instead of 44 s). Waits until every CPU of
    the cluster is free, at most `settle_s` (another job may hold some)."""
    deadline = time.monotonic() + settle_s
    total = ray.cluster_resources().get("CPU", 0.0)
    while (free := ray.available_resources().get("CPU", 0.0)) < total and time.monotonic() < deadline:
        time.sleep(0.1)
    return free


def seconds_per_episode(entries: list[tuple[str, Candidate]]) -> float | None:
    """The dearest episode among the entries' search evaluations (their evaluator's seconds over its episodes); None
    when none of them says."""
    costs = [
        float(c.metrics[M.EVAL_SECONDS]) / float(c.metrics[M.EVAL_N_EPISODES])
        for _, c in entries
        if isinstance(c.metrics.get(M.EVAL_SECONDS), (int, float)) and c.metrics.get(M.EVAL_N_EPISODES)
    ]
    return max(costs) if costs else None


def confirm(
    cfg: TrainPipelineConfig,
    entries: list[tuple[str, Candidate]],
    n_episodes: int,
    first_seed: int,
    stage: int = 0,
    decided: Callable[[list[Confirmed]], bool] | None = None,
) -> list[Confirmed]:
    """Evaluate each entry's checkpoint on the same fresh episodes (seeds first_seed, first_seed + 1, ...), all at
    once on evaluator actors (as many as the cluster's free CPUs allow and the work is worth: `evaluators_for`);
    results in the order of `entries`. With `stage` (0 < stage < n_episodes), in stages of that many episodes: after
    each, `decided(results so far)` may stop it before n_episodes."""
    stage = stage if 0 < stage < n_episodes else n_episodes
    free = int(max(free_cpus(), 1) // max(cfg.resources.cpus_per_eval_actor, 1e-9))
    n_actors = evaluators_for(free, len(entries) * stage, seconds_per_episode(entries))
    actors = create_actors(
        encode(cfg),
        n_actors,
        cfg.resources.cpus_per_eval_actor,
        owner="confirm",
        gpus_per_actor=cfg.resources.gpus_per_eval_actor,
    )
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
                results = [
                    confirmed_from(label, candidate, episodes, s)
                    for (label, candidate), episodes, s in zip(entries, raw, seconds)
                ]
                if done < n_episodes and decided is not None and decided(results):
                    break
    finally:
        for actor in actors:
            ray.kill(actor)
    return results
