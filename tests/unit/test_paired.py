"""Paired comparisons on the confirmation's shared episodes (orchestrator/results/paired.py), against known answers
and by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator.results.paired import equivalent, family_alpha, over_seeds, paired_interval
from orchestrator.results.stats import newcombe_interval


def correlated(rng, n: int, p_a: float, p_b: float, shared: float) -> tuple[np.ndarray, np.ndarray]:
    """Episodes where both policies see the same difficulty: a share `shared` of the episodes is decided by the
    episode (both succeed or both fail together), the rest independently."""
    common = rng.random(n) < shared
    easy = rng.random(n)
    a = np.where(common, easy < p_a, rng.random(n) < p_a)
    b = np.where(common, easy < p_b, rng.random(n) < p_b)
    return a, b


def test_the_paired_interval_covers_the_true_difference_at_its_level():
    rng = np.random.default_rng(0)
    for p_a, p_b, shared in [(0.6, 0.4, 0.7), (0.9, 0.85, 0.5), (0.3, 0.3, 0.9), (0.75, 0.5, 0.0)]:
        covered = 0
        for _ in range(1500):
            a, b = correlated(rng, 50, p_a, p_b, shared)
            p = paired_interval(a, b)
            covered += p.low <= p_a - p_b <= p.high
        assert covered / 1500 >= 0.93, (p_a, p_b, shared, covered / 1500)


def test_pairing_narrows_the_interval_when_the_policies_fail_on_the_same_episodes():
    a = np.array([1] * 30 + [0] * 20, dtype=bool)
    b = np.array([1] * 22 + [0] * 28, dtype=bool)  # b solves a subset of a's episodes
    p = paired_interval(a, b)
    _, low, high = newcombe_interval(30, 50, 22, 50)
    assert p.difference == pytest.approx(0.16) and p.n == 50
    assert p.high - p.low < 0.7 * (high - low)
    assert p.significant and not (low > 0)  # the independent interval could not tell them apart
    assert "improved success by 16.0 points" in p.sentence()


def test_identical_outcomes_and_no_successes_are_no_difference():
    zeros = [False] * 10
    p = paired_interval(zeros, zeros)
    assert p.difference == 0 and not p.significant
    assert "no significant difference" in p.sentence()
    with pytest.raises(ValueError):
        paired_interval([True], [True, False])


def test_equivalence_needs_the_interval_inside_the_margin_not_overlapping_intervals():
    rng = np.random.default_rng(1)
    a = rng.random(400) < 0.8
    assert equivalent(a, a.copy(), margin=0.05)
    b = np.array([1] * 15 + [0] * 5, dtype=bool)  # 75 %
    c = np.array([1] * 10 + [0] * 10, dtype=bool)  # 50 % on the same 20 episodes: intervals overlap
    assert not equivalent(b, c, margin=0.05) and not equivalent(b, c, margin=0.2)
    assert family_alpha(0.05, 4) == pytest.approx(0.0125)


def test_a_config_beats_another_over_seeds_only_when_the_spread_between_seeds_allows():
    episodes = 20

    def runs(rates):
        return [[i < round(r * episodes) for i in range(episodes)] for r in rates]

    # the case: the winner's config at 75 %, 40 %, 50 % over three seeds, the default at 70 % on one
    mixed = over_seeds(runs([0.75, 0.40, 0.50]), runs([0.70]))
    assert mixed.difference == pytest.approx(0.55 - 0.70) and not mixed.significant
    assert "does not beat" in mixed.sentence("the winner's config", "the default config")
    clear = over_seeds(runs([0.9, 0.95, 0.9]), runs([0.2, 0.3, 0.25]))
    assert clear.significant and clear.low > 0.5
