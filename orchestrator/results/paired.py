"""Comparisons on the confirmation's design: every candidate and the baseline run the same fresh episodes (the same
seeds), so their differences are paired, episode by episode.

- `paired_interval`: winner - other, with Newcombe's score interval for paired proportions (method 10 of Newcombe
  1998, "Improved confidence intervals for the difference between binomial proportions based on paired data"),
  which uses the episodes both solved or both failed (narrower than the independent-samples interval when the two
  policies succeed on the same episodes, as related checkpoints do). `paired_mean` is the same for a per-episode
  number (a reward): the mean of the episode-by-episode differences with Student's t interval.
- `family_alpha`: the per-comparison level that keeps the family-wise error over k comparisons at alpha (Bonferroni).
- `equivalent`: two one-sided tests (TOST) on the paired difference: "as good" means the (1 - 2 alpha) interval lies
  within +-margin, not that two intervals overlap (`equivalent_counts`: the same from two success counts, with
  Newcombe's independent-samples interval, when the episodes' outcomes are not at hand).
- `over_seeds`: a config against another across training seeds (rliable's stratified bootstrap: seeds resampled
  within each config, episodes within each seed), so the spread between seeds counts, not only episode noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orchestrator.results.stats import newcombe_interval, wilson_interval


def z_of(alpha: float) -> float:
    """The two-sided normal quantile of level alpha (1.96 for 0.05)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / 2)


class _Difference:
    """What a difference with its interval says (fields `low`, `high`, `points` of the dataclasses below)."""

    low: float  # (declared for the checker: the dataclasses below have them as fields)
    high: float
    points: bool

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0 or self.high < 0

    def better(self, mode: str = "max") -> bool:
        """a is better than b at this level (mode: which direction of the metric is better)."""
        return self.low > 0 if mode == "max" else self.high < 0

    def amount(self, x: float, signed: bool = False) -> str:
        """A difference in words: points of a proportion, else the metric's own units."""
        if self.points:
            return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f} points"
        return f"{x:+.3g}" if signed else f"{x:.3g}"


@dataclass(frozen=True)
class Paired(_Difference):
    difference: float  # mean of a - b over the shared episodes
    low: float
    high: float
    n: int  # episodes both ran
    alpha: float  # the interval's level (two-sided)
    points: bool = True  # a difference of proportions (said in percentage points); False: of a per-episode number

    def interval_words(self) -> str:
        level = f"{100 * (1 - self.alpha):.4g} % CI"
        return (
            f"(paired {level} {self.amount(self.low, True)}..{self.amount(self.high, True)}, {self.n} shared episodes)"
        )

    def sentence(self, who: str = "the sweep", what: str = "success", mode: str = "max") -> str:
        interval = self.interval_words()
        sign = 1 if mode == "max" else -1
        if self.better(mode):
            return f"{who} improved {what} by {self.amount(sign * self.difference)} {interval}"
        if self.significant:
            return f"{who} made {what} worse by {self.amount(-sign * self.difference)} {interval}"
        unit = " points" if self.points else ""
        return f"no significant difference in {what}: {self.amount(self.difference, True)}{unit} {interval}"

    def to_dict(self) -> dict:
        return {
            "difference": self.difference,
            "ci": [self.low, self.high],
            "level": 1 - self.alpha,
            "n": self.n,
            "paired": True,
        }


def paired_interval(a: Sequence[bool], b: Sequence[bool], alpha: float = 0.05) -> Paired:
    """a - b over the same episodes (a[i] and b[i] ran the same seed)."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes need the same episodes: {len(a)} != {len(b)}")
    n = len(a)
    if n == 0:
        return Paired(0.0, -1.0, 1.0, 0, alpha)
    a_, b_ = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    both, only_a = int(np.sum(a_ & b_)), int(np.sum(a_ & ~b_))
    only_b, neither = int(np.sum(~a_ & b_)), int(np.sum(~a_ & ~b_))
    z = z_of(alpha)
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    l1, u1 = wilson_interval(both + only_a, n, z)
    l2, u2 = wilson_interval(both + only_b, n, z)
    denominator = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = (both * neither - only_a * only_b) / math.sqrt(denominator) if denominator else 0.0
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = d + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return Paired(d, max(-1.0, low), min(1.0, high), n, alpha)


def paired_mean(a: Sequence[float], b: Sequence[float], alpha: float = 0.05) -> Paired:
    """a - b of a per-episode number over the same episodes: the mean difference with Student's t interval (a
    difference that is the same on every episode has a zero-width interval)."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes need the same episodes: {len(a)} != {len(b)}")
    n = len(a)
    if n == 0:
        return Paired(0.0, -math.inf, math.inf, 0, alpha, points=False)
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean = float(d.mean())
    if n == 1:
        return Paired(mean, -math.inf, math.inf, 1, alpha, points=False)
    from scipy.stats import t

    half = float(t.ppf(1 - alpha / 2, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return Paired(mean, mean - half, mean + half, n, alpha, points=False)


def family_alpha(alpha: float, comparisons: int) -> float:
    """Bonferroni: each of `comparisons` tests at this level keeps the chance of any false claim at most alpha."""
    return alpha / max(1, comparisons)


def equivalent(a: Sequence[bool], b: Sequence[bool], margin: float, alpha: float = 0.05) -> bool:
    """TOST: a and b are equivalent within +-margin when the (1 - 2 alpha) paired interval lies inside it."""
    p = paired_interval(a, b, 2 * alpha)
    return -margin < p.low and p.high < margin


def equivalent_counts(
    successes_a: int, n_a: int, successes_b: int, n_b: int, margin: float, alpha: float = 0.05
) -> bool:
    """TOST from two success counts (no episode-by-episode outcomes): Newcombe's independent-samples (1 - 2 alpha)
    interval within +-margin. Wider than the paired one, so it shows equivalence less often, never more wrongly."""
    if not n_a or not n_b:
        return False
    _, low, high = newcombe_interval(successes_a, n_a, successes_b, n_b, z_of(2 * alpha))
    return -margin < low and high < margin


@dataclass(frozen=True)
class OverSeeds(_Difference):
    difference: float  # mean over a's seeds - mean over b's seeds
    low: float
    high: float
    seeds: tuple[int, int]  # (a's seeds, b's seeds)
    points: bool = True  # success rates (said in points); False: a per-episode number (a reward)
    alpha: float = 0.05

    def sentence(self, who: str, other: str, what: str = "success", mode: str = "max") -> str:
        interval = (
            f"(on {what}; {100 * (1 - self.alpha):g} % stratified-bootstrap CI over {self.seeds[0]} and "
            f"{self.seeds[1]} training seeds {self.amount(self.low, True)}..{self.amount(self.high, True)})"
        )
        sign = 1 if mode == "max" else -1
        if self.better(mode):
            return f"{who} beats {other} by {self.amount(sign * self.difference)} over seeds {interval}"
        if self.significant:
            return f"{who} is worse than {other} by {self.amount(-sign * self.difference)} over seeds {interval}"
        unit = " points" if self.points else ""
        return f"{who} does not beat {other} over seeds: {self.amount(self.difference, True)}{unit} {interval}"

    def to_dict(self) -> dict:
        return {
            "difference": self.difference,
            "ci": [self.low, self.high],
            "level": 1 - self.alpha,
            "seeds": list(self.seeds),
        }


def over_seeds(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    alpha: float = 0.05,
    resamples: int = 4000,
    seed: int = 0,
    points: bool | None = None,
) -> OverSeeds:
    """a - b where each config has several training seeds, each confirmed on episodes: the mean over seeds of each
    seed's success (or per-episode number), with a stratified bootstrap interval (seeds resampled with replacement
    within each config, then episodes within each resampled seed). `points`: whether the values are successes (said
    in points); None: whether every value is 0 or 1."""
    rng = np.random.default_rng(seed)
    binary = all(set(np.unique(np.asarray(r, dtype=float)).tolist()) <= {0.0, 1.0} for r in [*a, *b])

    def resampled_mean(run: np.ndarray, count: int) -> np.ndarray:
        if binary:  # (the bootstrap of 0/1 outcomes, drawn directly)
            return rng.binomial(len(run), run.mean(), size=count) / len(run)
        return rng.choice(run, size=(count, len(run))).mean(axis=1)

    def means(seed_runs: Sequence[Sequence[float]]) -> np.ndarray:
        runs = [np.asarray(r, dtype=float) for r in seed_runs]
        picks = rng.integers(0, len(runs), size=(resamples, len(runs)))
        out = np.zeros(resamples)
        for j in range(len(runs)):
            for i, run in enumerate(runs):  # episodes of run i resampled wherever the seed pick chose it
                chosen = picks[:, j] == i
                if chosen.any():
                    out[chosen] += resampled_mean(run, int(chosen.sum()))
        return out / len(runs)

    point = float(np.mean([np.mean(r) for r in a]) - np.mean([np.mean(r) for r in b]))
    boot = means(a) - means(b)
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return OverSeeds(point, float(low), float(high), (len(a), len(b)), binary if points is None else points, alpha)
