"""Decisions on the confirmation's design: every confirmed candidate and the baseline run the same fresh episodes (the
same seeds), so they are compared paired, episode by episode (orchestrator/results/paired.py).

The confirmation runs in stages of episodes (`tune.confirm_stage_episodes`) and stops once the winner is decided:

- The family of comparisons: the leader (the candidate best on the confirmed metric) against each other candidate,
  and the winner against the baseline: m = (candidates - 1) + 1 paired intervals. Each is built at level
  alpha / (m x looks), Bonferroni over the m comparisons and over the planned looks (one per stage), so whenever the
  confirmation stops, the chance that any of its claims is false is at most alpha = 5 % (family-wise, anytime-valid).
  "The leader is the best" is false only if the truly best candidate was found worse than the leader: one of the
  comparisons of that (fixed, unknown) candidate, which the family covers.
- Decided, one objective: the leader's interval against every other candidate lies above 0 (it is distinguishable
  from each), and the winner - baseline interval excludes 0.
- Decided, several objectives (orchestrator/results/pareto.py chooses the winner): each other front member is either worse
  than the best on the first objective (its interval above 0) or equivalent to it within +-`tune.equivalence_margin`
  (TOST at the same level), and the winner - baseline interval excludes 0.
- Otherwise another stage, until `tune.confirm_episodes`. A leader still not distinguishable then is reported as
  such: the choice among those candidates is not evidence.

Success is compared with Newcombe's paired interval; an average reward with the mean of the per-episode differences
(Student's t). Any other eval/ metric has no per-episode values: success is compared instead.

With `tune.confirm_seeds`, a config is compared with the default config over training seeds (`versus_default`:
rliable's stratified bootstrap), and best/ is its median seed (`median_seed`), not its luckiest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from orchestrator import metrics as M
from orchestrator.results.paired import OverSeeds, Paired, over_seeds, paired_interval, paired_mean

ALPHA = 0.05  # the family-wise error of the confirmation's claims (each look, each comparison: a share of it)
WORSE, EQUIVALENT, UNDECIDED = "worse", "equivalent", "undecided"  # another candidate, against the leader
COLUMN = {M.EVAL_AVG_SUM_REWARD: 2, M.EVAL_AVG_MAX_REWARD: 3}  # per-episode numbers: (seed, success, sum, max)
WORDS = {M.EVAL_SUCCESS: "success", M.EVAL_AVG_SUM_REWARD: "avg sum reward", M.EVAL_AVG_MAX_REWARD: "avg max reward"}


def compared_metric(metric: str) -> str:
    """The metric compared episode by episode: an average reward itself, success for everything else."""
    return metric if metric in COLUMN else M.EVAL_SUCCESS


def words(metric: str) -> str:
    return WORDS.get(metric, metric)


def outcomes(c, metric: str) -> dict[int, float]:
    """{seed: value} of a confirmed entry's episodes (`c.episodes`: (seed, success, sum reward, max reward))."""
    column = COLUMN.get(metric, 1)
    return {int(e[0]): float(e[column]) for e in c.episodes}


def score(c, metric: str) -> float:
    """The entry's confirmed value of `metric`: the mean over its episodes (its summary value without them)."""
    values = outcomes(c, metric)
    if values:
        return sum(values.values()) / len(values)
    v = c.value(metric)
    return 0.0 if v is None or math.isnan(v) else v


def compare(a, b, metric: str, alpha: float) -> Paired:
    """a - b on the episodes both ran (matched by seed), at two-sided level alpha."""
    xa, xb = outcomes(a, metric), outcomes(b, metric)
    seeds = sorted(xa.keys() & xb.keys())
    x, y = [xa[s] for s in seeds], [xb[s] for s in seeds]
    return (
        paired_mean(x, y, alpha)
        if metric in COLUMN
        else paired_interval([v > 0.5 for v in x], [v > 0.5 for v in y], alpha)
    )


def equivalent_to(a, b, metric: str, margin: float, alpha: float) -> bool:
    """TOST on the paired difference: its (1 - 2 alpha) interval lies inside +-margin."""
    p = compare(a, b, metric, 2 * alpha)
    return -margin < p.low and p.high < margin


@dataclass(frozen=True)
class Plan:
    """The confirmation's design: how many episodes, in which stages, how many comparisons."""

    episodes: int  # tune.confirm_episodes: the most every entry runs
    stage: int  # tune.confirm_stage_episodes: episodes per stage (0: all at once, one look)
    comparisons: int  # the family: (candidates - 1) + (1 with a baseline)
    alpha: float = ALPHA  # family-wise

    @property
    def looks(self) -> int:
        return 1 if self.stage <= 0 or self.stage >= self.episodes else math.ceil(self.episodes / self.stage)

    @property
    def stage_size(self) -> int:
        return self.episodes if self.looks == 1 else self.stage

    @property
    def level(self) -> float:
        """Two-sided alpha of each paired interval at each look."""
        return self.alpha / (max(1, self.comparisons) * self.looks)

    def family(self) -> str:
        over = f"{max(1, self.comparisons)} comparison{'s' if self.comparisons > 1 else ''}"
        if self.looks > 1:
            over += f" x {self.looks} looks"
        return (
            f"each paired interval at {100 * (1 - self.level):.4g} % ({100 * self.alpha:g} % / {over}, "
            f"Bonferroni): family-wise {100 * (1 - self.alpha):g} %, whenever it stops"
        )

    def to_dict(self) -> dict:
        return {
            "planned_episodes": self.episodes,
            "stage_episodes": self.stage_size,
            "looks": self.looks,
            "comparisons": self.comparisons,
            "family_alpha": self.alpha,
            "level": 1 - self.level,
            "family": self.family(),
        }


def plan_for(n_candidates: int, baseline: bool, episodes: int, stage: int, alpha: float = ALPHA) -> Plan:
    return Plan(episodes, stage, max(1, n_candidates - 1 + int(baseline)), alpha)


Chooser = Callable[[list, object, list[str]], object]  # (candidates, the best on the metric, labels as good) -> one


@dataclass
class Decision:
    """Where the confirmation stands after some episodes: the leader, each comparison, whether it is decided."""

    metric: str  # the compared metric (compared_metric of the sweep's)
    mode: str
    plan: Plan
    n_episodes: int  # the episodes every entry has run
    top: str  # the candidate best on the metric (ties: the search's rank)
    leader: str  # the winner: `top` with one objective, the front's choice with several
    status: dict[str, str] = field(default_factory=dict)  # each other candidate against `top`
    versus: dict[str, Paired] = field(default_factory=dict)  # top - each other candidate
    baseline: Paired | None = None  # leader - baseline
    margin: float | None = None  # several objectives: the equivalence margin on the first

    @property
    def undecided(self) -> list[str]:
        return [label for label, s in self.status.items() if s == UNDECIDED]

    @property
    def distinguishable(self) -> bool:
        """The leader is told apart from every other candidate (worse, or equivalent with several objectives)."""
        return not self.undecided

    @property
    def decided(self) -> bool:
        return self.distinguishable and (self.baseline is None or self.baseline.significant)

    @property
    def looks_run(self) -> int:
        return max(1, math.ceil(self.n_episodes / self.plan.stage_size))

    def choice_sentence(self) -> str:
        what = words(self.metric)
        if not self.status:
            return f"{self.leader} was the only candidate confirmed"
        if self.distinguishable:
            if self.margin is None:
                return (
                    f"{self.top} is distinguishable from every other candidate on {what} (each paired interval "
                    f"of the difference lies above 0)"
                )
            return (
                f"every other front member is worse than {self.top} on {what} or equivalent to it within "
                f"+-{self.margin:g} (paired intervals, TOST)"
            )
        names = ", ".join(self.undecided)
        every = len(self.undecided) == len(self.status)
        if self.margin is None:
            head = (
                f"no candidate is distinguishable from {self.top} (the best point estimate): {names}"
                if every
                else f"{self.top} is not distinguishable from {names}"
            )
            why = "their paired intervals of the difference include 0"
        else:
            m = f"+-{self.margin:g}"
            head = (
                f"no front member is distinguishable from {self.top} (the best point estimate) or equivalent "
                f"to it within {m}: {names}"
                if every
                else f"{self.top} is neither distinguishable from nor equivalent within {m} to {names}"
            )
            why = f"their paired intervals include 0 and reach beyond +-{self.margin:g}"
        return f"{head} on {what} ({why} after {self.n_episodes} episodes): the choice among them is not evidence"

    def comparison_sentence(self) -> str | None:
        if self.baseline is None:
            return None
        return self.baseline.sentence("the sweep", words(self.metric), self.mode)

    def stopping_sentence(self) -> str:
        planned = self.plan.episodes
        if self.n_episodes < planned:
            return (
                f"stopped after {self.n_episodes} of {planned} episodes (look {self.looks_run} of "
                f"{self.plan.looks}): " + ("the winner was decided" if self.decided else "undecided")
            )
        if self.plan.looks == 1:
            return f"all {planned} episodes at once (one look)"
        return f"ran all {planned} episodes ({self.plan.looks} looks): " + (
            "decided at the last look" if self.decided else "still undecided at the end"
        )

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "mode": self.mode,
            "n_episodes": self.n_episodes,
            "looks_run": self.looks_run,
            **self.plan.to_dict(),
            "top": self.top,
            "leader": self.leader,
            "distinguishable": self.distinguishable,
            "decided": self.decided,
            "undecided": self.undecided,
            "margin": self.margin,
            "versus": {label: {"status": self.status[label], **p.to_dict()} for label, p in self.versus.items()},
            "versus_baseline": self.baseline.to_dict() if self.baseline else None,
            "choice": self.choice_sentence(),
            "stopping": self.stopping_sentence(),
        }


def decide(
    confirmed: Sequence,
    metric: str,
    mode: str,
    plan: Plan,
    baseline_label: str = "baseline",
    margin: float | None = None,
    choose: Chooser | None = None,
) -> Decision:
    """The decision on confirmed entries (objects with .label, .episodes, .value(metric); candidates in the search's
    rank order, the baseline labelled `baseline_label`). `margin`: several objectives (others may be equivalent);
    `choose(candidates, top, labels as good as top)` then picks the winner among those."""
    compared = compared_metric(metric)
    mode = mode if compared == metric else "max"
    trials = [c for c in confirmed if c.label != baseline_label]
    baseline = next((c for c in confirmed if c.label == baseline_label), None)
    sign = 1 if mode == "max" else -1
    order = {c.label: i for i, c in enumerate(trials)}
    top = max(trials, key=lambda c: (sign * score(c, compared), -order[c.label]))
    status, versus = {}, {}
    for c in trials:
        if c is top:
            continue
        versus[c.label] = p = compare(top, c, compared, plan.level)
        if p.better(mode):
            status[c.label] = WORSE
        elif margin is not None and equivalent_to(top, c, compared, margin, plan.level):
            status[c.label] = EQUIVALENT
        else:
            status[c.label] = UNDECIDED
    leader = top
    if choose is not None:
        leader = choose(trials, top, [top.label] + [label for label, s in status.items() if s == EQUIVALENT])
    vs_baseline = compare(leader, baseline, compared, plan.level) if baseline is not None else None
    n = min((len(c.episodes) for c in confirmed), default=0)
    return Decision(compared, mode, plan, n, top.label, leader.label, status, versus, vs_baseline, margin)


def median_seed(runs: Sequence, metric: str, mode: str):
    """The config's representative seed: the median of its seeds by confirmed value (for an even count, the lower
    of the two middle ones), so best/ holds a typical seed of the config, not its luckiest."""
    compared = compared_metric(metric)
    sign = 1 if mode == "max" or compared != metric else -1
    ranked = sorted(runs, key=lambda c: sign * score(c, compared))  # worst first; ties keep the given order
    return ranked[(len(ranked) - 1) // 2]


def versus_default(config_runs: Sequence, default_runs: Sequence, metric: str) -> OverSeeds:
    """The config against the default config over their training seeds (each seed confirmed on the same episodes):
    rliable's stratified bootstrap, so the spread between seeds counts."""
    compared = compared_metric(metric)
    return over_seeds(
        [list(outcomes(c, compared).values()) for c in config_runs],
        [list(outcomes(c, compared).values()) for c in default_runs],
        points=compared not in COLUMN,
    )
