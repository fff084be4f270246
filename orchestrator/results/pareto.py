"""Several objectives (`--tune.metric=[eval/success, policy/latency_ms] --tune.mode=[max, min]`): the Pareto front of
a sweep's trials, and how the one policy in best/ is chosen from it.

Each trial is taken at its best checkpoint by the first objective (policy/* costs are the same at every checkpoint).
The front holds the trials that no other trial beats on every objective. The choice, in the README's words:

1. "As good on the first objective" means equivalent to the member best on it within +-`tune.equivalence_margin`:
   two one-sided tests (TOST) on the difference. Confirmed on fresh episodes, the test is paired, episode by episode,
   at the confirmation's level (orchestrator/results/confirmation.py); from the search alone, it uses the two
   success counts (Newcombe's independent interval), and a metric without counts is as good only when equal.
   Overlapping intervals are not evidence of being as good.
2. A later objective decides between those only where its difference exceeds its measurement noise: the members
   whose 95 % interval of it lies wholly on the wrong side of the best one's are dropped (latency is timed
   repeatedly and reported with its interval, orchestrator/policies/costs.py; a parameter count is exact). Then the
   third objective, and so on.
3. Of those left, the one best on the first objective (then the search's rank).

So a policy that succeeds as often as the most successful one, shown equivalent, and is measurably faster is the
one pushed; one that is faster but not shown as successful is on the front and in the report, not in best/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator import metrics as M
from orchestrator.formatting import value as fmt
from orchestrator.results.confirmation import ALPHA, compared_metric, score
from orchestrator.results.paired import equivalent_counts
from orchestrator.results.rows import TrialRow

Interval = tuple[float, float, float]  # (value, low, high)


def values_of(row: TrialRow, objectives: Sequence[tuple[str, str]]) -> list[float] | None:
    """The trial's value for every objective, or None if one is missing."""
    values = [row.value(metric) for metric, _ in objectives]
    present = [v for v in values if v is not None]
    return present if len(present) == len(values) else None


def member_value(row: TrialRow, metric: str) -> float:
    """A front member's value for an objective (a member has every one: `pareto_front` leaves the others out)."""
    value = row.value(metric)
    if value is None:
        raise ValueError(f"{row.trial_id} has no {metric}: it is not on the Pareto front")
    return value


def front_values(row: TrialRow, objectives: Sequence[tuple[str, str]]) -> list[float]:
    """A front member's value for every objective."""
    return [member_value(row, metric) for metric, _ in objectives]


def dominates(a: Sequence[float], b: Sequence[float], modes: Sequence[str]) -> bool:
    """`a` is at least as good as `b` on every objective and better on one."""
    better = [(x - y) if mode == "max" else (y - x) for x, y, mode in zip(a, b, modes)]
    return all(d >= 0 for d in better) and any(d > 0 for d in better)


def pareto_front(rows: Sequence[TrialRow], objectives: Sequence[tuple[str, str]]) -> list[TrialRow]:
    """The rows no other row dominates, in the order given (rows missing an objective are not on it)."""
    modes = [mode for _, mode in objectives]
    scored = [(r, v) for r in rows if (v := values_of(r, objectives)) is not None]
    return [r for r, v in scored if not any(dominates(w, v, modes) for other, w in scored if other is not r)]


def later_interval(row: TrialRow, metric: str) -> Interval:
    """An objective's (value, low, high) as the trial measured it: with its 95 % interval where it reported one
    (`<metric>_ci95_low/_high`: policy/latency_ms and policy/chunk_ms, timed repeatedly; eval/success, Wilson), else
    the value as a point (policy/n_params is exact)."""
    value = member_value(row, metric)
    source = row.best.metrics if M.is_eval_metric(metric) and row.best is not None else row.metrics
    low, high = source.get(f"{metric}_ci95_low"), source.get(f"{metric}_ci95_high")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)):
        return value, float(low), float(high)
    return value, value, value


def search_equivalent(top: TrialRow, row: TrialRow, metric: str, margin: float, alpha: float) -> bool:
    """From the search's evaluations alone: TOST on two success counts, or equal values for other metrics."""
    a, b = member_value(top, metric), member_value(row, metric)
    n_a = top.best.metrics.get(M.EVAL_N_EPISODES) if top.best else None
    n_b = row.best.metrics.get(M.EVAL_N_EPISODES) if row.best else None
    if metric == M.EVAL_SUCCESS and n_a and n_b:
        return equivalent_counts(round(a * n_a), int(n_a), round(b * n_b), int(n_b), margin, alpha)
    return a == b


def _span(r: TrialRow, interval: Interval) -> str:
    value, low, high = interval
    return f"{r.trial_id} {fmt(value)}" + ("" if low == high else f" [{fmt(low)}, {fmt(high)}]")


def choose(
    front: Sequence[TrialRow],
    objectives: Sequence[tuple[str, str]],
    first_value: Callable[[TrialRow], float],
    as_good: Callable[[TrialRow, TrialRow], bool],
    top: TrialRow | None = None,
) -> tuple[TrialRow, list[TrialRow], list[str]]:
    """(the chosen row, the rows as good as the best on the first objective, why: one clause per later objective
    that was weighed) — `front` in rank order; `first_value(row)`: the first objective's value; `as_good(top, row)`:
    whether `row` is shown as good as `top` on it (an equivalence test); `top`: the best on it, if already known."""
    (_, first_mode), rest = objectives[0], objectives[1:]
    sign = 1 if first_mode == "max" else -1
    order = {r.trial_id: i for i, r in enumerate(front)}
    top = top or max(front, key=lambda r: (sign * first_value(r), -order[r.trial_id]))
    tied = [r for r in front if r is top or as_good(top, r)]
    pool = list(tied)
    why: list[str] = []
    for metric, mode in rest:
        if len(pool) == 1:
            break
        s = 1 if mode == "max" else -1
        spans = {r.trial_id: later_interval(r, metric) for r in pool}
        best = max(pool, key=lambda r: (s * spans[r.trial_id][0], -order[r.trial_id]))
        _, best_low, best_high = spans[best.trial_id]
        kept = [
            r
            for r in pool
            if r is best or not (spans[r.trial_id][2] < best_low if mode == "max" else spans[r.trial_id][1] > best_high)
        ]
        listed = ", ".join(_span(r, spans[r.trial_id]) for r in pool)
        if len(kept) < len(pool):
            why.append(
                f"{', '.join(r.trial_id for r in kept)} better on {metric} ({mode}) beyond its measurement "
                f"noise ({listed})"
            )
        else:
            why.append(f"no difference in {metric} beyond its measurement noise ({listed}: the intervals overlap)")
        pool = kept
    chosen = max(pool, key=lambda r: (sign * first_value(r), -order[r.trial_id]))
    return chosen, tied, why


def choice_sentence(
    chosen: TrialRow,
    tied: Sequence[TrialRow],
    objectives: Sequence[tuple[str, str]],
    confirmed: bool,
    n_front: int,
    margin: float,
    why: Sequence[str] = (),
) -> str:
    """How best/ was chosen from the front, in one sentence."""
    first = objectives[0][0]
    where = "confirmed on fresh episodes" if confirmed else "in the search"
    test = "paired TOST" if confirmed else "TOST on the search's counts"
    if n_front == 1:
        return (
            f"{chosen.trial_id} is the whole front: every other trial is at least as bad on every objective "
            "and worse on one"
        )
    if len(tied) == 1:
        return (
            f"{chosen.trial_id} is best on {first} {where}, and no other front member is shown equivalent to "
            f"it within +-{margin:g} ({test})"
        )
    return (
        f"{len(tied)} front members are as good on {first} {where} (equivalent within +-{margin:g}, {test}: "
        f"{', '.join(r.trial_id for r in tied)}); {'; '.join(why)}; so {chosen.trial_id}, the best on {first} "
        f"of those left"
    )


class Front:
    """A sweep's Pareto front and the choice made from it (in the search, then again if it was confirmed)."""

    def __init__(self, objectives: Sequence[tuple[str, str]], ranked: Sequence[TrialRow], margin: float = 0.1):
        self.objectives = list(objectives)
        self.members = pareto_front(ranked, self.objectives)
        self.n_trials = len(ranked)
        self.margin = margin  # tune.equivalence_margin, in the first objective's units
        self.chosen: TrialRow | None = None
        self.tied: list[TrialRow] = []
        self.why: list[str] = []
        self.confirmed = False

    def choose_in_search(self) -> TrialRow:
        """From the search's evaluations: equivalence on the first objective from the success counts (each of the
        front's comparisons with the best at 5 % / (members - 1))."""
        first = self.objectives[0][0]
        alpha = ALPHA / max(1, len(self.members) - 1)
        self.chosen, self.tied, self.why = choose(
            self.members,
            self.objectives,
            lambda r: member_value(r, first),
            lambda top, r: search_equivalent(top, r, first, self.margin, alpha),
        )
        return self.chosen

    def choose_confirmed(self, trials: list, top, as_good: list[str]):
        """The chooser of orchestrator.results.confirmation.decide: from the confirmed front members (Confirmed, by
        trial id), the best on the first objective `top` and the labels shown equivalent to it, the Confirmed
        chosen."""
        first = compared_metric(self.objectives[0][0])
        by_label = {c.label: c for c in trials}
        pool = [r for r in self.members if r.trial_id in by_label]
        good = set(as_good)
        self.chosen, self.tied, self.why = choose(
            pool,
            self.objectives,
            lambda r: score(by_label[r.trial_id], first),
            lambda _, r: r.trial_id in good,
            top=next(r for r in pool if r.trial_id == top.label),
        )
        self.confirmed = True
        return by_label[self.chosen.trial_id]

    def rule(self) -> str | None:
        """How best/ was chosen from the front (None before a choice)."""
        if self.chosen is None:
            return None
        return choice_sentence(
            self.chosen, self.tied, self.objectives, self.confirmed, len(self.members), self.margin, self.why
        )

    def summary(self) -> dict:
        return {
            "objectives": [{"metric": m, "mode": d} for m, d in self.objectives],
            "n_trials": self.n_trials,
            "members": [
                {
                    "trial_id": r.trial_id,
                    "best_step": r.best.step if r.best else None,
                    "values": dict(zip([m for m, _ in self.objectives], front_values(r, self.objectives))),
                    "intervals": {m: list(later_interval(r, m)) for m, _ in self.objectives[1:]},
                }
                for r in self.members
            ],
            "chosen": self.chosen.trial_id if self.chosen else None,
            "equivalence_margin": self.margin,
            "as_good_on_first": [r.trial_id for r in self.tied],
            "confirmed": self.confirmed,
            "rule": self.rule(),
        }

    def print(self, console) -> None:
        names = ", ".join(f"{m} ({d})" for m, d in self.objectives)
        console.print(f"\nPareto front ({names}): {len(self.members)} of {self.n_trials} trials")
        for r in self.members:
            values = ", ".join(
                _span_value(r, m, v) for (m, _), v in zip(self.objectives, front_values(r, self.objectives))
            )
            step = f" (step {r.best.step})" if r.best else ""  # no checkpoint: objectives all policy/* costs
            console.print(f"  {r.trial_id}{step}: {values}" + ("  <- best/" if r is self.chosen else ""))
        if self.chosen:
            console.print(f"  best/: {self.rule()}")


def _span_value(r: TrialRow, metric: str, value: float) -> str:
    _, low, high = later_interval(r, metric)
    return f"{metric} {fmt(value)}" + ("" if low == high else f" [{fmt(low)}, {fmt(high)}]")


def front_markdown(front: dict | None) -> list[str]:
    """report.md's section on the front (from summary.json's pareto_front); nothing for a single objective."""
    if not front:
        return []
    names = [o["metric"] for o in front["objectives"]]
    lines = [
        f"## Pareto front ({len(front['members'])} of {front['n_trials']} trials)",
        "",
        "| trial | step | " + " | ".join(f"{o['metric']} ({o['mode']})" for o in front["objectives"]) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    lines += [
        f"| {m['trial_id']}{' (best/)' if m['trial_id'] == front['chosen'] else ''} | {m['best_step']} | "
        + " | ".join(fmt(m["values"][n]) for n in names)
        + " |"
        for m in front["members"]
    ]
    return lines + ["", f"best/: {front['rule']}", ""]
