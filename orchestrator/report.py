"""What a researcher reads after a sweep: the trials ranked by their best evaluated checkpoint (with intervals), which
trials the scheduler stopped and whether their interval overlapped the survivors', the confirmation of the top
candidates against the baseline on fresh episodes. Written as summary.json + report.md and printed to the terminal."""
from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from orchestrator import metrics as M
from orchestrator.candidates import Candidate, best_candidate, candidates_of, local_pretrained, report_history


@dataclass
class TrialRow:
    trial_id: str
    status: str  # finished, stopped early (the scheduler), or error
    params: dict[str, Any]  # the sampled fields
    metrics: dict[str, Any]  # the trial's last report
    best: Candidate | None  # its best evaluated checkpoint (for a non-eval metric: its last checkpoint)
    evaluations: list[Candidate] = field(default_factory=list)  # every evaluated checkpoint, by step
    seconds: float = 0.0  # wall time of the trial
    history: list[dict] = field(default_factory=list)  # every report, oldest first (Tune's result.json)

    def value(self, metric: str) -> float | None:
        """The trial's result: its best checkpoint's value for eval/ metrics, its last report's otherwise."""
        if M.is_eval_metric(metric):
            return self.best.value(metric) if self.best else None
        v = self.metrics.get(metric)
        return float(v) if isinstance(v, (int, float)) and not math.isnan(v) else None

    def summary(self) -> dict:
        return {"trial_id": self.trial_id, "status": self.status, "params": self.params, "seconds": self.seconds,
                "best_step": self.best.step if self.best else None,
                "best_metrics": self.best.metrics if self.best else None,
                "checkpoint_path": self.best.checkpoint_path if self.best else None,
                "evaluations": [{"step": c.step, **c.metrics} for c in self.evaluations],
                "last_metrics": {k: v for k, v in self.metrics.items() if k != M.EVALUATIONS}}


def rows_of(result_grid, total_steps: int, metric: str, mode: str) -> list[TrialRow]:
    rows = []
    for r in result_grid:
        m = dict(r.metrics or {})
        status = "error" if r.error else ("finished" if m.get(M.STEP, 0) >= total_steps else "stopped early")
        rows.append(trial_row(m.get("trial_id", Path(r.path).name), status, dict(r.config or {}), report_history(r),
                              m, metric, mode))
    return rows


def trial_row(trial_id: str, status: str, params: dict, history: list[dict], last: dict, metric: str,
              mode: str) -> TrialRow:
    """One trial from its report history (Tune's result.json lines) and its last report."""
    evaluations = candidates_of(history, trial_id, params)
    if M.is_eval_metric(metric):
        best = best_candidate(evaluations, metric, mode)
    else:  # train/ and val/ metrics describe the last report: its last checkpoint
        saved = [h for h in history if h.get(M.CHECKPOINT_PATH)]
        best = Candidate(trial_id, saved[-1][M.STEP], saved[-1], saved[-1][M.CHECKPOINT_PATH],
                         dict(params)) if saved else None
    return TrialRow(trial_id, status, dict(params), last, best, evaluations, float(last.get("time_total_s", 0.0)),
                    history)


def rank(rows: list[TrialRow], metric: str, mode: str) -> list[TrialRow]:
    """Best first; trials without the metric last."""
    sign = -1 if mode == "max" else 1
    return sorted(rows, key=lambda r: (r.value(metric) is None, sign * (r.value(metric) or 0.0)))


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
        overlapping = [c for c in peers if _overlap(_ci(c), _ci(at))]
        stops.append({"trial_id": row.trial_id, "rung": at.step, "success": at.value(M.EVAL_SUCCESS),
                      "success_ci95": _ci(at), "survivors": len(peers), "overlapping": len(overlapping)})
    return stops


def _ci(c: Candidate) -> tuple[float, float]:
    return c.metrics.get(M.EVAL_SUCCESS_LOW, 0.0), c.metrics.get(M.EVAL_SUCCESS_HIGH, 1.0)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _success_cell(c: Candidate | None) -> str:
    if c is None or c.value(M.EVAL_SUCCESS) is None:
        return "-"
    low, high = _ci(c)
    return f"{c.value(M.EVAL_SUCCESS):.0%} [{low:.0%}, {high:.0%}]"


def _columns(rows: list[TrialRow], metric: str) -> tuple[list[str], list[list[str]]]:
    params = sorted({k for r in rows for k in r.params})
    cols = ["#", "trial", "status", *params, metric, "success [95% CI]", "best step", M.TRAIN_LOSS, "minutes"]
    body = []
    for i, r in enumerate(rows, 1):
        body.append([str(i), r.trial_id, r.status, *[_fmt(r.params.get(p)) for p in params], _fmt(r.value(metric)),
                     _success_cell(r.best), _fmt(r.best.step if r.best else None), _fmt(r.metrics.get(M.TRAIN_LOSS)),
                     f"{r.seconds / 60:.1f}"])
    return cols, body


def markdown_table(rows: list[TrialRow], metric: str) -> str:
    cols, body = _columns(rows, metric)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])


def print_table(rows: list[TrialRow], metric: str, console: Console) -> None:
    cols, body = _columns(rows, metric)
    table = Table(title=f"Trials ranked by {metric} (each at its best evaluated checkpoint)")
    for col in cols:
        table.add_column(col, justify="left" if col in ("trial", "status") else "right")
    for cells in body:
        table.add_row(*cells)
    console.print(table)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def export_best(candidate: Candidate, folder: Path) -> Path:
    """Copy a checkpoint's pretrained_model (config.json, model.safetensors, train_config.json) to `folder`."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(local_pretrained(candidate.checkpoint_path), folder)
    return folder


def write_summary(path: Path, **content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, default=str))
