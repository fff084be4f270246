"""Staged evaluation's decisions (orchestrator/results/sequential.py): its false-decision rate, tested by simulation
against known success rates, and how many episodes it saves where the answer is clear."""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator.results.sequential import BETTER, COMPLETE, WORSE, StagedEvaluation


def run(rule: StagedEvaluation, p: float, incumbent: tuple[int, int], rng) -> tuple[str, int]:
    successes = n = 0
    while True:
        decision = rule.decide(successes, n, incumbent)
        if decision:
            return decision, n
        k = rule.next_stage(n)
        successes += int(rng.binomial(k, p))
        n += k


@pytest.mark.parametrize("rule", [StagedEvaluation(10, 50, 0.05), StagedEvaluation(5, 20, 0.1)])
def test_false_decisions_stay_at_or_below_alpha(rule):
    """Checkpoint and incumbent with known true rates; the incumbent measured on max_episodes episodes. A false
    decision: WORSE when the checkpoint is at least as good, BETTER when it is at most as good."""
    rng = np.random.default_rng(0)
    false = trials = 0
    for p, q in [(0.5, 0.5), (0.3, 0.3), (0.9, 0.9), (0.6, 0.5), (0.5, 0.6), (0.1, 0.1), (0.95, 0.8), (0.2, 0.35)]:
        for _ in range(1000):
            incumbent = (int(rng.binomial(rule.max_episodes, q)), rule.max_episodes)
            decision, _ = run(rule, p, incumbent, rng)
            false += (decision == WORSE and p >= q) or (decision == BETTER and p <= q)
            trials += 1
    assert false / trials <= rule.alpha


def test_a_clear_loser_stops_after_one_stage_and_a_close_one_runs_to_the_end():
    rule = StagedEvaluation(10, 50, 0.05)
    rng = np.random.default_rng(1)
    loser = [run(rule, 0.05, (45, 50), rng) for _ in range(200)]
    assert all(d == WORSE for d, _ in loser) and np.mean([n for _, n in loser]) <= 15
    winner = [run(rule, 1.0, (10, 50), rng) for _ in range(50)]
    assert all(d == BETTER and n == 10 for d, n in winner)
    close = [run(rule, 0.6, (30, 50), rng) for _ in range(200)]
    assert np.mean([d == COMPLETE for d, _ in close]) > 0.9


def test_without_an_incumbent_every_episode_runs():
    rule = StagedEvaluation(10, 30)
    assert rule.decide(0, 10, None) is None and rule.decide(0, 30, None) == COMPLETE
    assert [rule.next_stage(n) for n in (0, 10, 20)] == [10, 10, 10]
    assert StagedEvaluation(10, 25).next_stage(20) == 5
