"""The trials of a sweep as rows: each trial's sampled values, last report, every evaluated checkpoint and its best
one; ranked by a metric (configs by the mean over their seeds with --tune.repeats); the trials the scheduler
stopped, with whether their interval overlapped the survivors'. Built from Tune's results or from an experiment
folder (orchestrator/runtime/experiment.py), read by the tables, the HTML report, the model card and summary.json."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import metrics as M
from orchestrator.results.candidates import Candidate, best_candidate, candidates_of, report_history
from orchestrator.results.seeds import config_id_of, split_repeat_keys, spread


@dataclass
class TrialRow:
    trial_id: str
    status: str  # finished, stopped early (the scheduler), error, or infeasible (broke a constraint: not trained)
    params: dict[str, Any]  # the sampled fields
    metrics: dict[str, Any]  # the trial's last report
    best: Candidate | None  # its best evaluated checkpoint (for a non-eval metric: its last checkpoint)
    evaluations: list[Candidate] = field(default_factory=list)  # every evaluated checkpoint, by step
    seconds: float = 0.0  # wall time of the trial
    history: list[dict] = field(default_factory=list)  # every report, oldest first (Tune's result.json)
    config_id: str | None = None  # --tune.repeats: the sampled config this trial is one seed of
    repeat: int | None = None  # its repeat index (seed = the config's seed + repeat)
    violated: list[str] = field(default_factory=list)  # infeasible: the constraints it broke
    over_seeds: dict | None = None  # its config's spread over seeds (n, mean, std, min, max of `value`), set by rank

    def value(self, metric: str) -> float | None:
        """The trial's result: its best checkpoint's value for eval/ metrics, its last report's otherwise."""
        if M.is_eval_metric(metric):
            return self.best.value(metric) if self.best else None
        v = self.metrics.get(metric)
        return float(v) if isinstance(v, (int, float)) and not math.isnan(v) else None

    def summary(self) -> dict:
        return {
            "trial_id": self.trial_id,
            "status": self.status,
            "params": self.params,
            "seconds": self.seconds,
            "best_step": self.best.step if self.best else None,
            "best_metrics": self.best.metrics if self.best else None,
            "checkpoint_path": self.best.checkpoint_path if self.best else None,
            "evaluations": [{"step": c.step, **c.metrics} for c in self.evaluations],
            **(
                {"config_id": self.config_id, "repeat": self.repeat, "over_seeds": self.over_seeds}
                if self.config_id is not None
                else {}
            ),
            **({"violated_constraints": self.violated} if self.violated else {}),
            "last_metrics": {k: v for k, v in self.metrics.items() if k not in (M.EVALUATIONS, M.EVALUATIONS_BEFORE)},
        }


def rows_of(result_grid, total_steps: int, metric: str, mode: str) -> list[TrialRow]:
    rows = []
    for r in result_grid:
        m = dict(r.metrics or {})
        status = "error" if r.error else ("finished" if m.get(M.STEP, 0) >= total_steps else "stopped early")
        # (an infeasible trial, which trained nothing, is labelled so by trial_row)
        rows.append(
            trial_row(
                m.get("trial_id", Path(r.path).name), status, dict(r.config or {}), report_history(r), m, metric, mode
            )
        )
    return rows


def trial_row(
    trial_id: str, status: str, params: dict, history: list[dict], last: dict, metric: str, mode: str
) -> TrialRow:
    """One trial from its report history (Tune's result.json lines) and its last report."""
    config_id = config_id_of(params)
    params, repeat, _ = split_repeat_keys(params)
    if any(h.get(M.INFEASIBLE) for h in history) or last.get(M.INFEASIBLE):
        broken = next((h.get(M.VIOLATED) for h in history if h.get(M.INFEASIBLE)), None) or last.get(M.VIOLATED)
        return TrialRow(
            trial_id,
            "infeasible",
            dict(params),
            last,
            None,
            [],
            float(last.get("time_total_s", 0.0)),
            history,
            config_id,
            repeat if config_id else None,
            list(broken or []),
        )
    evaluations = candidates_of(history, trial_id, params)
    if M.is_eval_metric(metric):
        best = best_candidate(evaluations, metric, mode)
    else:  # train/ and val/ metrics describe the last report: its last checkpoint
        saved = [h for h in history if h.get(M.CHECKPOINT_PATH)]
        best = (
            Candidate(trial_id, saved[-1][M.STEP], saved[-1], saved[-1][M.CHECKPOINT_PATH], dict(params))
            if saved
            else None
        )
    return TrialRow(
        trial_id,
        status,
        dict(params),
        last,
        best,
        evaluations,
        float(last.get("time_total_s", 0.0)),
        history,
        config_id,
        repeat if config_id else None,
    )


def rank(rows: list[TrialRow], metric: str, mode: str) -> list[TrialRow]:
    """Best first; trials without the metric last. With repeats (rows with a config id), configs are ranked by the
    mean of their seeds' values, each config's seeds together, best seed first; each row gets its config's spread."""
    sign = -1 if mode == "max" else 1
    groups: dict[str, list[float]] = {}
    for r in rows:
        if r.config_id is not None and (value := r.value(metric)) is not None:
            groups.setdefault(r.config_id, []).append(value)
    stats = {cid: spread(values) for cid, values in groups.items()}
    for r in rows:
        r.over_seeds = stats.get(r.config_id) if r.config_id is not None else None

    def key(r: TrialRow):
        own = (r.value(metric) is None, sign * (r.value(metric) or 0.0))
        if r.config_id is None:
            return (*own, "", *own)
        mean = stats[r.config_id]["mean"] if r.config_id in stats else None
        return (mean is None, sign * (mean or 0.0), r.config_id, *own)

    return sorted(rows, key=key)


def config_summaries(rows: list[TrialRow]) -> list[dict]:
    """One entry per sampled config of a repeated sweep, in rank order: its params, trials, seeds and spread."""
    out: dict[str, dict] = {}
    for r in rows:
        if r.config_id is None:
            continue
        entry = out.setdefault(
            r.config_id,
            {
                "config_id": r.config_id,
                "params": r.params,
                "trials": [],
                "repeats": [],
                "over_seeds": r.over_seeds,
                "status": [],
            },
        )
        entry["trials"].append(r.trial_id)
        entry["repeats"].append(r.repeat)
        entry["status"].append(r.status)
    return list(out.values())


def headline_metric(rows: list[TrialRow]) -> str:
    """Success rate once any trial succeeds at all; until then the average max reward tells trials apart."""
    return M.EVAL_SUCCESS if any((r.value(M.EVAL_SUCCESS) or 0) > 0 for r in rows) else M.EVAL_AVG_MAX_REWARD


def scheduler_stops(rows: list[TrialRow]) -> list[dict]:
    """Each trial the scheduler stopped: the rung (its last evaluated step), its success interval there, and how many
    of the trials that went on past that rung had an interval overlapping it (a stop the noise could explain)."""
    stops = []
    for row in rows:
        if row.status != "stopped early" or not row.evaluations:
            continue
        at = row.evaluations[-1]
        survivors = [r for r in rows if r is not row and any(c.step > at.step for c in r.evaluations)]
        peers = [c for r in survivors for c in r.evaluations if c.step == at.step]
        overlapping = [c for c in peers if _overlap(success_ci(c), success_ci(at))]
        stops.append(
            {
                "trial_id": row.trial_id,
                "rung": at.step,
                "success": at.value(M.EVAL_SUCCESS),
                "success_ci95": success_ci(at),
                "survivors": len(peers),
                "overlapping": len(overlapping),
            }
        )
    return stops


def success_ci(c: Candidate) -> tuple[float, float]:
    return c.metrics.get(M.EVAL_SUCCESS_LOW, 0.0), c.metrics.get(M.EVAL_SUCCESS_HIGH, 1.0)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]
