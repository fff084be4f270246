"""Several objectives (`--tune.metric=[eval/success, policy/latency_ms] --tune.mode=[max, min]`): the Pareto front of
a sweep's trials, and how the one policy in best/ is chosen from it.

Each trial is taken at its best checkpoint by the first objective (policy/* costs are the same at every checkpoint).
The front holds the trials that no other trial beats on every objective. The choice, in the README's words:

1. "As good on the first objective": the front's members whose 95 % interval of the first objective overlaps the
   interval of the member best on it — the confirmed interval when the front was confirmed on fresh episodes
   (success: Wilson; average rewards: the mean's), else the search's (eval/success has one; other metrics are points,
   so only equal values tie).
2. Of those, the best on the second objective; ties go to the third, and so on; then to the first objective's value,
   then to the search's rank.

So a policy that succeeds as often as the most successful one, within the evaluation noise, but acts 5x faster is
the one pushed; one that is faster but clearly less successful is on the front and in the report, not in best/.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator import metrics as M
from orchestrator.report import TrialRow, _fmt

Interval = tuple[float, float, float]  # (value, low, high)


def values_of(row: TrialRow, objectives: Sequence[tuple[str, str]]) -> list[float] | None:
    """The trial's value for every objective, or None if one is missing."""
    values = [row.value(metric) for metric, _ in objectives]
    return None if any(v is None for v in values) else values


def dominates(a: Sequence[float], b: Sequence[float], modes: Sequence[str]) -> bool:
    """`a` is at least as good as `b` on every objective and better on one."""
    better = [(x - y) if mode == "max" else (y - x) for x, y, mode in zip(a, b, modes)]
    return all(d >= 0 for d in better) and any(d > 0 for d in better)


def pareto_front(rows: Sequence[TrialRow], objectives: Sequence[tuple[str, str]]) -> list[TrialRow]:
    """The rows no other row dominates, in the order given (rows missing an objective are not on it)."""
    modes = [mode for _, mode in objectives]
    scored = [(r, v) for r in rows if (v := values_of(r, objectives)) is not None]
    return [r for r, v in scored if not any(dominates(w, v, modes) for other, w in scored if other is not r)]


def search_interval(row: TrialRow, metric: str) -> Interval:
    """The first objective's value at the trial's best checkpoint, with the search evaluation's 95 % interval where
    there is one (eval/success)."""
    value = row.value(metric)
    if metric == M.EVAL_SUCCESS and row.best is not None:
        return value, row.best.metrics.get(M.EVAL_SUCCESS_LOW, value), row.best.metrics.get(M.EVAL_SUCCESS_HIGH, value)
    return value, value, value


def choose(front: Sequence[TrialRow], objectives: Sequence[tuple[str, str]],
           interval: Callable[[TrialRow], Interval]) -> tuple[TrialRow, list[TrialRow]]:
    """(the chosen row, the rows as good as the best on the first objective) — `front` in rank order; `interval`
    gives each row's (value, low, high) of the first objective."""
    (_, first_mode), rest = objectives[0], objectives[1:]
    sign = 1 if first_mode == "max" else -1
    order = {r.trial_id: i for i, r in enumerate(front)}
    top = max(front, key=lambda r: (sign * interval(r)[0], -order[r.trial_id]))
    _, top_low, top_high = interval(top)
    tied = [r for r in front if interval(r)[1] <= top_high and top_low <= interval(r)[2]]

    def key(r: TrialRow):
        later = tuple((1 if mode == "max" else -1) * r.value(metric) for metric, mode in rest)
        return (*later, sign * interval(r)[0], -order[r.trial_id])

    return max(tied, key=key), tied


def choice_sentence(chosen: TrialRow, tied: Sequence[TrialRow], objectives: Sequence[tuple[str, str]],
                    confirmed: bool, n_front: int) -> str:
    """How best/ was chosen from the front, in one sentence."""
    first, rest = objectives[0][0], [f"{m} ({mode})" for m, mode in objectives[1:]]
    where = "confirmed on fresh episodes" if confirmed else "in the search"
    if n_front == 1:
        return (f"{chosen.trial_id} is the whole front: every other trial is at least as bad on every objective "
                "and worse on one")
    if len(tied) == 1:
        return f"{chosen.trial_id} is best on {first} {where}, and no other front member's interval overlaps it"
    return (f"{len(tied)} front members are as good on {first} {where} (95 % intervals overlap: "
            f"{', '.join(r.trial_id for r in tied)}); of those, {chosen.trial_id} is best on {', then '.join(rest)}")


class Front:
    """A sweep's Pareto front and the choice made from it (in the search, then again if it was confirmed)."""

    def __init__(self, objectives: Sequence[tuple[str, str]], ranked: Sequence[TrialRow]):
        self.objectives = list(objectives)
        self.members = pareto_front(ranked, self.objectives)
        self.n_trials = len(ranked)
        self.chosen, self.tied, self.confirmed = None, [], False

    def choose_in_search(self) -> TrialRow:
        first = self.objectives[0][0]
        self.chosen, self.tied = choose(self.members, self.objectives, lambda r: search_interval(r, first))
        return self.chosen

    def choose_confirmed(self, trials: list) -> object:
        """From the confirmed front members (orchestrator/confirm.py: Confirmed, by trial id): the Confirmed chosen."""
        first = self.objectives[0][0]
        by_label = {c.label: c for c in trials}
        pool = [r for r in self.members if r.trial_id in by_label]
        self.chosen, self.tied = choose(pool, self.objectives, lambda r: by_label[r.trial_id].interval(first))
        self.confirmed = True
        return by_label[self.chosen.trial_id]

    def rule(self) -> str | None:
        """How best/ was chosen from the front (None before a choice)."""
        if self.chosen is None:
            return None
        return choice_sentence(self.chosen, self.tied, self.objectives, self.confirmed, len(self.members))

    def summary(self) -> dict:
        return {"objectives": [{"metric": m, "mode": d} for m, d in self.objectives], "n_trials": self.n_trials,
                "members": [{"trial_id": r.trial_id, "best_step": r.best.step if r.best else None,
                             "values": dict(zip([m for m, _ in self.objectives], values_of(r, self.objectives)))}
                            for r in self.members],
                "chosen": self.chosen.trial_id if self.chosen else None,
                "as_good_on_first": [r.trial_id for r in self.tied], "confirmed": self.confirmed,
                "rule": self.rule()}

    def print(self, console) -> None:
        names = ", ".join(f"{m} ({d})" for m, d in self.objectives)
        console.print(f"\nPareto front ({names}): {len(self.members)} of {self.n_trials} trials")
        for r in self.members:
            values = ", ".join(f"{m} {_fmt(v)}" for (m, _), v in zip(self.objectives, values_of(r, self.objectives)))
            console.print(f"  {r.trial_id} (step {r.best.step}): {values}"
                          + ("  <- best/" if r is self.chosen else ""))
        if self.chosen:
            console.print(f"  best/: {self.rule()}")


def front_markdown(front: dict | None) -> list[str]:
    """report.md's section on the front (from summary.json's pareto_front); nothing for a single objective."""
    if not front:
        return []
    names = [o["metric"] for o in front["objectives"]]
    lines = [f"## Pareto front ({len(front['members'])} of {front['n_trials']} trials)", "",
             "| trial | step | " + " | ".join(f"{o['metric']} ({o['mode']})" for o in front["objectives"]) + " |",
             "|---|---|" + "---|" * len(names)]
    lines += [f"| {m['trial_id']}{' (best/)' if m['trial_id'] == front['chosen'] else ''} | {m['best_step']} | "
              + " | ".join(_fmt(m["values"][n]) for n in names) + " |" for m in front["members"]]
    return lines + ["", f"best/: {front['rule']}", ""]
