"""A candidate's result on the confirmation episodes: its success with the Wilson interval, its average rewards with
theirs, every episode (seed, success, sum and max reward). orchestrator/sweep/confirm.py runs the episodes; the
decision (orchestrator/results/confirmation.py), the model card and summary.json read this."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator import metrics as M
from orchestrator.results.candidates import Candidate
from orchestrator.results.stats import mean_interval, wilson_interval


@dataclass
class Confirmed:
    """A candidate's result on the confirmation episodes."""

    label: str  # the trial id, or "baseline"
    candidate: Candidate
    successes: int
    n_episodes: int
    success: float
    success_ci95: tuple[float, float]  # Wilson
    avg_sum_reward: tuple[float, float, float]  # mean, 95 % low, high
    avg_max_reward: tuple[float, float, float]
    episodes: list[tuple[int, bool, float, float]] = field(default_factory=list)  # (seed, success, sum, max reward)
    eval_s: float = 0.0  # wall seconds from the confirmation's start until its episodes were in (the candidates
    #   share the actors, queued in order: a later candidate's time includes the earlier ones' episodes)

    def value(self, metric: str) -> float | None:
        """The confirmed value of an eval/ metric (success or an average reward)."""
        return {
            M.EVAL_SUCCESS: self.success,
            M.EVAL_SUCCESS_LOW: self.success_ci95[0],
            M.EVAL_SUCCESS_HIGH: self.success_ci95[1],
            M.EVAL_AVG_SUM_REWARD: self.avg_sum_reward[0],
            M.EVAL_AVG_MAX_REWARD: self.avg_max_reward[0],
        }.get(metric)

    def interval(self, metric: str) -> tuple[float, float, float] | None:
        """(value, 95 % low, high) of an eval/ metric on the confirmation episodes (a point where none applies)."""
        spans = {
            M.EVAL_SUCCESS: (self.success, *self.success_ci95),
            M.EVAL_AVG_SUM_REWARD: self.avg_sum_reward,
            M.EVAL_AVG_MAX_REWARD: self.avg_max_reward,
        }
        value = self.value(metric)
        return spans.get(metric) or (None if value is None else (value, value, value))


def confirmed_from(label: str, candidate: Candidate, episodes, eval_s: float) -> Confirmed:
    """A candidate's Confirmed from its episodes (each with .seed, .success, .sum_reward, .max_reward)."""
    episodes = sorted(episodes, key=lambda e: e.seed)
    successes = sum(e.success for e in episodes)
    n = len(episodes)
    return Confirmed(
        label,
        candidate,
        successes,
        n,
        successes / n,
        wilson_interval(successes, n),
        mean_interval([e.sum_reward for e in episodes]),
        mean_interval([e.max_reward for e in episodes]),
        [(e.seed, e.success, e.sum_reward, e.max_reward) for e in episodes],
        eval_s,
    )
