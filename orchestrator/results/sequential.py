"""Evaluation that stops when it has decided: a checkpoint is evaluated in stages of `stage` episodes, up to
`max_episodes`, and stops as soon as its success rate is known to lie below the incumbent's (it cannot beat the best
checkpoint seen so far) or above it (it is already clearly the best).

The bounds are anytime-valid over the planned looks: after each stage, a one-sided Clopper-Pearson bound at level
alpha / (2 x looks) on each side (Bonferroni over the looks and the two sides), so with probability at least
1 - alpha / 2 every bound the checkpoint ever shows holds, whenever the evaluation stops. A decision compares the
checkpoint's bound with the incumbent's opposite bound (the incumbent measured the same way), so a false decision
(stopping as worse when the checkpoint is in truth at least as good, or as better when it is not) needs one of
the two to fail: its rate is at most alpha (tests/unit/test_sequential.py checks it by simulation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

WORSE = "worse"  # cannot beat the incumbent
BETTER = "better"  # already clearly better than the incumbent
COMPLETE = "complete"  # every planned episode was run
DECISIONS = (WORSE, BETTER, COMPLETE)


@dataclass(frozen=True)
class StagedEvaluation:
    stage: int  # episodes per stage
    max_episodes: int  # episodes when no decision comes earlier
    alpha: float = 0.05  # the false-decision rate

    @property
    def looks(self) -> int:
        return max(1, math.ceil(self.max_episodes / self.stage))

    def bounds(self, successes: int, n: int) -> tuple[float, float]:
        """(low, high): the success rate's anytime-valid bounds after `n` episodes with `successes`."""
        return _clopper_pearson(successes, n, self.alpha / (2 * self.looks))

    def next_stage(self, n: int) -> int:
        """Episodes of the stage after `n` episodes (the last may be shorter)."""
        return min(self.stage, self.max_episodes - n)

    def decide(self, successes: int, n: int, incumbent: tuple[int, int] | None) -> str | None:
        """WORSE, BETTER, COMPLETE or None (run another stage). `incumbent`: (successes, episodes) of the best
        evaluation known so far (another checkpoint's), or None."""
        if n >= self.max_episodes:
            return COMPLETE
        if incumbent is None or incumbent[1] == 0 or n == 0:
            return None
        low, high = self.bounds(successes, n)
        inc_low, inc_high = self.bounds(*incumbent)
        if high < inc_low:
            return WORSE
        if low > inc_high:
            return BETTER
        return None


@lru_cache(maxsize=65536)
def _clopper_pearson(successes: int, n: int, alpha: float) -> tuple[float, float]:
    """One-sided exact bounds, each at level `alpha`."""
    from scipy.stats import beta

    if n == 0:
        return 0.0, 1.0
    low = 0.0 if successes == 0 else float(beta.ppf(alpha, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - alpha, successes + 1, n - successes))
    return low, high
