"""The tabulated benchmark's replay (benchmarks/tabular/replay.py) on a tiny synthetic table whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.tabular.replay import Pools, Strategy, replay
from benchmarks.tabular.table import Checkpoint, Config, Table

GRID = {"optimizer.lr": [1e-4, 1e-3, 1e-2, 1e-1], "policy.chunk_size": [10, 20]}
BEST = {"optimizer.lr": 1e-2, "policy.chunk_size": 20}
STEPS = [100, 200, 300, 400]
# 32 configs: a search that never trains a config twice needs a space larger than its budget to show what it saves
LARGE = {"optimizer.lr": [1e-2, *(k * 1e-4 for k in range(1, 16))], "policy.chunk_size": [10, 20]}


def successes(rate: float, n: int) -> np.ndarray:
    """n episodes with exactly round(rate * n) successes, spread evenly (any split keeps the rate close)."""
    out = np.zeros(n, dtype=np.int8)
    out[np.linspace(0, n - 1, int(round(rate * n))).astype(int)] = 1
    return out


def synthetic(best_rate=0.9, step_s=0.1, episode_s=0.05, startup_s=5.0, grid=GRID) -> Table:
    """BEST succeeds at best_rate from its first checkpoint on, the other configs at rates from 5 % to 50 %."""
    n = math.prod(len(v) for v in grid.values())
    configs, others = {}, iter(np.round(np.linspace(0.05, 0.5, n - 1), 2))
    for lr in grid["optimizer.lr"]:
        for chunk in grid["policy.chunk_size"]:
            params = {"optimizer.lr": lr, "policy.chunk_size": chunk}
            rate = best_rate if params == BEST else next(others)
            cps = {s: Checkpoint(s, successes(rate, 150 if s == STEPS[-1] else 50), episode_s) for s in STEPS}
            config = Config(params, cps, step_s, startup_s)
            configs[config.key] = config
    return Table("synthetic", grid, {"optimizer.lr": 1e-4, "policy.chunk_size": 20}, STEPS, configs, log_freq=50)


def test_pools_split_every_checkpoint_in_two_disjoint_halves_shared_by_configs():
    pools = Pools.split(np.random.default_rng(0), {50, 150})
    assert sorted(np.concatenate([pools.search[50], pools.confirm[50]])) == list(range(50))
    assert sorted(np.concatenate([pools.search[150], pools.confirm[150]])) == list(range(150))
    assert set(pools.search[50]) <= set(pools.search[150]) and len(pools.search[150]) == 75


def test_random_search_with_budget_for_every_config_finds_the_best_and_counts_its_compute():
    table = synthetic()
    full = 5.0 + 0.1 * 400 + 0.05 * 20 * 4  # start-up + training + 4 evaluations of 20 episodes
    out = replay(
        table, Strategy("random", search="random", scheduler="none"), seed=1, concurrency=1, budgets=[10.0, full * 40]
    )
    assert math.isnan(out.winner_true[0])  # 10 s in: still starting up, no evaluation known yet
    assert out.winner_true[-1] == pytest.approx(0.9, abs=0.02)
    assert out.train_steps >= 400 * 8 * 0.9  # random search trains whole trials
    assert out.compute[0] == pytest.approx(10.0)  # nothing to confirm yet


def test_asha_stops_the_bad_configs_early_and_keeps_the_best():
    table = synthetic(grid=LARGE)
    budget = 24 * (5.0 + 0.1 * 400)
    asha = [replay(table, Strategy("asha", search="random"), seed=s, concurrency=2, budgets=[budget]) for s in range(3)]
    plain = [
        replay(table, Strategy("random", search="random", scheduler="none"), seed=s, concurrency=2, budgets=[budget])
        for s in range(3)
    ]
    assert all(o.winner_true[-1] == pytest.approx(0.9, abs=0.02) for o in asha)
    # the same compute tries every one of the 32 configs when ASHA stops the weak ones at their first rungs, and
    # three quarters of them without (each config once either way)
    assert all(o.trials == 32 for o in asha) and all(o.trials <= 24 for o in plain)
    assert all(lag >= 0 for o in asha for lag in o.lag_steps) and any(o.lag_steps for o in asha)


def test_tpe_replays_are_reproducible_by_seed():
    table = synthetic()
    a = replay(table, Strategy("tpe", scheduler="none"), seed=7, concurrency=2, budgets=[500, 1500])
    b = replay(table, Strategy("tpe", scheduler="none"), seed=7, concurrency=2, budgets=[500, 1500])
    assert a.winner_true == b.winner_true and a.trials == b.trials and a.train_steps == b.train_steps


def test_staged_evaluation_spends_fewer_episodes_for_the_same_winner():
    table = synthetic(grid=LARGE)
    budget = 40 * (5.0 + 0.1 * 400)
    kw = dict(search="random", scheduler="none", n_episodes=20)
    full = [replay(table, Strategy("all", **kw), seed=s, concurrency=2, budgets=[budget]) for s in range(3)]
    staged = [
        replay(table, Strategy("staged", stage=5, **kw), seed=s, concurrency=2, budgets=[budget]) for s in range(3)
    ]
    assert all(o.winner_true[-1] == pytest.approx(0.9, abs=0.02) for o in staged)
    per_trial = [sum(o.eval_episodes for o in outs) / sum(o.trials for o in outs) for outs in (full, staged)]
    assert per_trial[1] < 0.85 * per_trial[0]  # (0.82: the weakest configs stop after a stage or two)


def test_waiting_at_the_rungs_stops_exactly_there_and_costs_wall_time_not_compute():
    table = synthetic(episode_s=0.5)  # 20 episodes take 10 s: 100 steps of training go by meanwhile
    budget = 20 * (5.0 + 0.1 * 400)
    lagged = replay(table, Strategy("asha", search="random"), seed=0, concurrency=2, budgets=[budget])
    waiting = replay(
        table, Strategy("wait", search="random", wait_for_rung=True), seed=0, concurrency=2, budgets=[budget]
    )
    assert lagged.lag_steps and min(lagged.lag_steps) >= 90
    assert waiting.lag_steps and set(waiting.lag_steps) == {0}
    assert waiting.train_steps / waiting.trials < lagged.train_steps / lagged.trials


def test_the_confirmation_stops_once_the_winner_is_decided_as_a_sweeps_does():
    table = synthetic(best_rate=1.0)  # 100 % against at most 50 %: told apart well before 25 paired episodes
    budget = 20 * (5.0 + 0.1 * 400)
    kw = dict(search="optuna", scheduler="none")
    at_once = replay(table, Strategy("all", confirm_stage=0, **kw), seed=3, concurrency=2, budgets=[budget])
    staged = replay(table, Strategy("staged", confirm_stage=5, **kw), seed=3, concurrency=2, budgets=[budget])
    assert at_once.winner_true == staged.winner_true and staged.winner_true[-1] == 1.0
    assert staged.compute[-1] < at_once.compute[-1]
