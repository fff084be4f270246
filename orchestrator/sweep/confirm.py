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

import ray

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


def confirm(
    cfg: TrainPipelineConfig,
    entries: list[tuple[str, Candidate]],
    n_episodes: int,
    first_seed: int,
    stage: int = 0,
    decided: Callable[[list[Confirmed]], bool] | None = None,
) -> list[Confirmed]:
    """Evaluate each entry's checkpoint on the same fresh episodes (seeds first_seed, first_seed + 1, ...), all at
    once on evaluator actors (as many as the cluster's free CPUs allow); results in the order of `entries`. With
    `stage` (0 < stage < n_episodes), in stages of that many episodes: after each, `decided(results so far)` may stop
    it before n_episodes."""
    stage = stage if 0 < stage < n_episodes else n_episodes
    free = int(ray.available_resources().get("CPU", 1) // max(cfg.resources.cpus_per_eval_actor, 1e-9))
    n_actors = max(1, min(free, stage))
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
