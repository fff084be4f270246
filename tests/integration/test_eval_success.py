"""Success is counted through the real evaluator actors (issue 7): each simulator's scripted expert, evaluated by
two EvalActors as `python -m orchestrator eval` and a sweep do (`create_actors` + `EvalPool`), reaches the success
rate the same expert achieves when recording the same episodes; a policy that never succeeds reads 0 there."""

from __future__ import annotations

import pytest
import ray

from orchestrator.configs.parsing import build_config, encode
from orchestrator.datasets import record
from orchestrator.envs.configs import AlohaEnvConfig, MetaWorldEnvConfig, PushTEnvConfig
from tests.unit.test_success_counting import FAR_CORNER, constant_policy
from trainables.evaluator import EvalPool, create_actors

pytestmark = pytest.mark.integration

N_ACTORS = 2
CASES = {  # name -> (env, episodes); ALOHA without cameras: its expert needs none, and rendering is the slow part
    "pusht": (PushTEnvConfig(), 4),
    "metaworld-reach": (MetaWorldEnvConfig(task="reach"), 4),
    "metaworld-drawer-open": (MetaWorldEnvConfig(task="drawer-open"), 4),
    "aloha-transfer_cube": (AlohaEnvConfig(task="transfer_cube", cameras=[]), 2),
}


def start_pool(env_cfg, n_episodes: int):
    train_config = {
        "env": encode(env_cfg),
        "eval": {"n_episodes": n_episodes, "batch_size": n_episodes // N_ACTORS, "num_actors": N_ACTORS},
    }
    cfg = build_config(None, [train_config])
    actors = create_actors(encode(cfg), N_ACTORS, cpus_per_actor=1.0)
    return actors, EvalPool(actors, cfg.eval.n_episodes, cfg.eval.seed)


def evaluate(pool: EvalPool, policy) -> dict:
    pool.submit(0, policy)
    assert len(pool.pending[-1].refs) == N_ACTORS
    return pool.poll(wait=True)[0]


@pytest.fixture(scope="module")
def pusht_pool(ray_cluster):
    """One pair of PushT actors for both PushT tests (an actor's start is most of a test's time here)."""
    actors, pool = start_pool(*CASES["pusht"])
    yield pool
    for actor in actors:
        ray.kill(actor)


@pytest.mark.parametrize("name", list(CASES))
def test_expert_through_the_evaluators_reaches_its_recording_success_rate(name, request, ray_cluster):
    env_cfg, n = CASES[name]
    actors, pool = ([], request.getfixturevalue("pusht_pool")) if name == "pusht" else start_pool(env_cfg, n)
    try:
        pool.submit(0, None)  # the actors evaluate while this process records the same episodes
        assert len(pool.pending[-1].refs) == N_ACTORS  # the episodes are split over both actors
        recorded = [record.rollout(env_cfg, seed)[1] for seed in range(pool.seed, pool.seed + pool.n_episodes)]
        metrics = pool.poll(wait=True)[0]
    finally:
        for actor in actors:
            ray.kill(actor)
    print(
        f"{name}: expert success through {N_ACTORS} EvalActors {metrics['eval/success']:.0%} of "
        f"{metrics['eval/n_episodes']}, when recording {sum(recorded)}/{len(recorded)}, "
        f"eval {metrics['eval/eval_s']:.1f} s"
    )
    assert metrics["eval/n_episodes"] == n
    assert sum(recorded) > 0, recorded  # there is a success to count
    assert metrics["eval/success"] == pytest.approx(sum(recorded) / n)
    assert metrics["eval/avg_sum_reward"] > 0 and metrics["eval/avg_max_reward"] > 0


def test_a_policy_that_never_succeeds_reads_zero_through_the_evaluators(pusht_pool):
    expert = evaluate(pusht_pool, None)  # the same actors, the same episodes: success is there to be counted
    constant = evaluate(pusht_pool, constant_policy(CASES["pusht"][0], FAR_CORNER))
    assert expert["eval/success"] > 0, expert
    assert constant["eval/success"] == 0.0 and constant["eval/n_episodes"] == CASES["pusht"][1]
    assert constant["eval/avg_sum_reward"] >= constant["eval/avg_max_reward"] >= 0


def test_a_staged_evaluation_stops_once_it_cannot_beat_the_incumbent(pusht_pool):
    """eval.stage_episodes through the same actors: a policy that never succeeds, against a sweep whose best so far
    succeeded 20 of 20, stops after its first stage of 4 episodes (of 8 planned) and says why."""
    from trainables.incumbent import create_incumbent

    incumbent = create_incumbent("test-staged")
    try:
        incumbent.offer.remote(20, 20)
        pool = EvalPool(pusht_pool.actors, 8, pusht_pool.seed, stage_episodes=4, alpha=0.05, incumbent=incumbent)
        metrics = evaluate(pool, constant_policy(CASES["pusht"][0], FAR_CORNER))
        assert metrics["eval/n_episodes"] == 4 and metrics["eval/success"] == 0.0
        assert metrics["eval/decision"] == -1
        assert ray.get(incumbent.best.remote()) == (20, 20)  # a 0 of 4 does not displace it
    finally:
        ray.kill(incumbent)


def test_evaluators_are_named_for_whose_they_are(ray_cluster):
    """The Ray dashboard's Actors page (and `ray list actors`) names each evaluator for its trial; a name still held
    by a live actor (a run restarting while its old evaluators die) gets a suffix instead of failing."""
    train_config = encode(build_config(None, [{"env": encode(PushTEnvConfig())}]))
    first = create_actors(train_config, 1, cpus_per_actor=0.5, owner="trial_abc12_00000")
    second = create_actors(train_config, 1, cpus_per_actor=0.5, owner="trial_abc12_00000")
    try:
        assert ray.get_actor("trial_abc12_00000/evaluator-0")._actor_id == first[0]._actor_id
        assert second[0]._actor_id != first[0]._actor_id
    finally:
        for actor in first + second:
            ray.kill(actor)
