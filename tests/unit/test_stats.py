"""Intervals against published answers: Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10."""

import pytest

from orchestrator.results.stats import mean_interval, newcombe_interval, wilson_interval


@pytest.mark.parametrize(
    "a, n_a, b, n_b, low, high",
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
    ],
)
def test_newcombe_interval_matches_the_paper(a, n_a, b, n_b, low, high):
    d, lo, hi = newcombe_interval(a, n_a, b, n_b)
    assert d == pytest.approx(a / n_a - b / n_b)
    assert (lo, hi) == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize(
    "k, n, low, high",
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (15, 20, 0.5313, 0.8881), (81, 263, 0.2553, 0.3662)],
)
def test_wilson_interval(k, n, low, high):
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=1e-4)


def test_mean_interval():
    mean, low, high = mean_interval([1.0, 2.0, 3.0, 4.0])
    assert (
        mean == 2.5 and high - mean == pytest.approx(1.959964 * 1.2909944 / 2, rel=1e-6) and mean - low == high - mean
    )
    assert mean_interval([5.0]) == (5.0, 5.0, 5.0)


def test_the_comparison_sentence_says_whether_the_paired_interval_excludes_zero():
    """(The confirmation's winner - baseline sentence, orchestrator/results/paired.py.)"""
    from orchestrator.results.paired import paired_interval

    def outcomes(k: int) -> list[bool]:
        return [i < k for i in range(50)]

    assert (
        paired_interval(outcomes(40), outcomes(10))
        .sentence()
        .startswith("the sweep improved success by 60.0 points (paired 95 % CI +")
    )
    assert (
        paired_interval(outcomes(12), outcomes(10))
        .sentence()
        .startswith("no significant difference in success: +4.0 points (paired 95 % CI -")
    )
    assert (
        paired_interval(outcomes(5), outcomes(30)).sentence().startswith("the sweep made success worse by 50.0 points")
    )


def test_more_episodes_at_later_evaluations_and_fresh_confirmation_seeds():
    from orchestrator.configs.parsing import build_config
    from orchestrator.sweep.confirm import overlapping_seeds

    cfg = build_config(
        None, [{"steps": 1200, "eval_freq": 400, "eval": {"n_episodes": 5, "batch_size": 5, "n_episodes_growth": 2.0}}]
    )
    assert [cfg.eval.episodes_at(s, cfg.eval_freq) for s in (400, 800, 1200, 1000)] == [5, 10, 20, 20]
    assert cfg.most_eval_episodes() == 20
    assert overlapping_seeds(cfg, cfg.eval.seed + 19, 10) and not overlapping_seeds(cfg, cfg.eval.seed + 20, 10)
