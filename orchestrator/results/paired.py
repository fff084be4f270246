"""Comparisons on the confirmation's design: every candidate and the baseline run the same fresh episodes (the same
seeds), so their differences are paired, episode by episode.

- `paired_interval`: winner - other, with Newcombe's score interval for paired proportions (method 10 of Newcombe
  1998, "Improved confidence intervals for the difference between binomial proportions based on paired data"),
  which uses the episodes both solved or both failed (narrower than the independent-samples interval when the two
  policies succeed on the same episodes, as related checkpoints do).
- `family_alpha`: the per-comparison level that keeps the family-wise error over k comparisons at alpha (Bonferroni).
- `equivalent`: two one-sided tests (TOST) on the paired difference: "as good" means the (1 - 2 alpha) interval lies
  within +-margin, not that two intervals overlap.
- `over_seeds`: a config against another across training seeds (rliable's stratified bootstrap: seeds resampled
  within each config, episodes within each seed), so the spread between seeds counts, not only episode noise.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orchestrator.stats import wilson_interval


def z_of(alpha: float) -> float:
    """The two-sided normal quantile of level alpha (1.96 for 0.05)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / 2)


@dataclass(frozen=True)
class Paired:
    difference: float  # mean of a - b over the shared episodes
    low: float
    high: float
    n: int  # episodes both ran
    alpha: float  # the interval's level (two-sided)

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0 or self.high < 0

    def sentence(self, who: str = "the sweep", what: str = "success") -> str:
        level = f"{100 * (1 - self.alpha):g} % CI"
        interval = f"(paired {level} {100 * self.low:+.1f}..{100 * self.high:+.1f}, {self.n} shared episodes)"
        if self.low > 0:
            return f"{who} improved {what} by {100 * self.difference:.1f} points {interval}"
        if self.high < 0:
            return f"{who} made {what} worse by {-100 * self.difference:.1f} points {interval}"
        return f"no significant difference: {100 * self.difference:+.1f} points {interval}"


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


def family_alpha(alpha: float, comparisons: int) -> float:
    """Bonferroni: each of `comparisons` tests at this level keeps the chance of any false claim at most alpha."""
    return alpha / max(1, comparisons)


def equivalent(a: Sequence[bool], b: Sequence[bool], margin: float, alpha: float = 0.05) -> bool:
    """TOST: a and b are equivalent within +-margin when the (1 - 2 alpha) paired interval lies inside it."""
    p = paired_interval(a, b, 2 * alpha)
    return -margin < p.low and p.high < margin


@dataclass(frozen=True)
class OverSeeds:
    difference: float  # mean over a's seeds - mean over b's seeds
    low: float
    high: float
    seeds: tuple[int, int]  # (a's seeds, b's seeds)

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def sentence(self, who: str, other: str) -> str:
        interval = (f"(95 % stratified-bootstrap CI over {self.seeds[0]} and {self.seeds[1]} training seeds "
                    f"{100 * self.low:+.1f}..{100 * self.high:+.1f})")
        if self.low > 0:
            return f"{who} beats {other} by {100 * self.difference:.1f} points over seeds {interval}"
        if self.high < 0:
            return f"{who} is worse than {other} by {-100 * self.difference:.1f} points over seeds {interval}"
        return f"{who} does not beat {other} over seeds: {100 * self.difference:+.1f} points {interval}"


def over_seeds(a: Sequence[Sequence[bool]], b: Sequence[Sequence[bool]], alpha: float = 0.05,
               resamples: int = 4000, seed: int = 0) -> OverSeeds:
    """a - b where each config has several training seeds, each confirmed on episodes: the mean over seeds of each
    seed's success, with a stratified bootstrap interval (seeds resampled with replacement within each config, then
    episodes within each resampled seed)."""
    rng = np.random.default_rng(seed)

    def means(runs: Sequence[Sequence[bool]]) -> np.ndarray:
        runs = [np.asarray(r, dtype=float) for r in runs]
        picks = rng.integers(0, len(runs), size=(resamples, len(runs)))
        out = np.zeros(resamples)
        for j in range(len(runs)):
            for i, run in enumerate(runs):  # episodes of run i resampled wherever the seed pick chose it
                chosen = picks[:, j] == i
                if chosen.any():
                    out[chosen] += rng.binomial(len(run), run.mean(), size=int(chosen.sum())) / len(run)
        return out / len(runs)

    point = float(np.mean([np.mean(r) for r in a]) - np.mean([np.mean(r) for r in b]))
    boot = means(a) - means(b)
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return OverSeeds(point, float(low), float(high), (len(a), len(b)))
