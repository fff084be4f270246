"""Candidates for the best policy: every evaluated checkpoint of every trial.

A trial's result is its best evaluated checkpoint, not its last (ties: the later step). Evaluations finish
asynchronously, so each report lists the evaluations that finished since the previous one (`evaluations`), and the
train loop checkpoints every step it evaluates; the trial's report history (Tune's result.json) pairs them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from orchestrator import metrics as M


@dataclass
class Candidate:
    """One evaluated checkpoint."""

    trial_id: str
    step: int  # the training step that was evaluated and checkpointed
    metrics: dict[str, Any]  # the evaluation's eval/* metrics
    checkpoint_path: str | None  # the checkpoint of that step (None if it was never committed)
    params: dict[str, Any] = field(default_factory=dict)  # the trial's sampled fields

    def value(self, metric: str) -> float | None:
        v = self.metrics.get(metric)
        return float(v) if isinstance(v, (int, float)) and not math.isnan(v) else None


def report_history(result) -> list[dict]:
    """Every report of a Tune trial, oldest first (its result.json, read through the trial's storage filesystem)."""
    path = f"{result.path}/result.json"
    try:
        with result.filesystem.open_input_stream(path) as stream:
            text = stream.read().decode()
    except (FileNotFoundError, OSError):
        return []
    return parse_reports(text)


def parse_reports(text: str) -> list[dict]:
    """Tune's result.json: one report per line, oldest first; a line still being written (a running trial) or
    otherwise unreadable is skipped. The one reader of that file's lines (the experiment reader uses it too)."""
    reports = []
    for line in text.splitlines():
        try:
            reports.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return reports


def candidates_of(history: list[dict], trial_id: str, params: dict) -> list[Candidate]:
    """The trial's evaluated checkpoints, by step (a step evaluated twice, after a retry, keeps its latest result).
    A new checkpoint of a step already seen (a run that re-trained it: a retry, or PBT's exploit from another trial's
    checkpoint) drops the older evaluation of that step: an evaluation always follows its own checkpoint."""
    checkpoints: dict[int, str] = {}
    evaluations: dict[int, dict] = {}
    for report in history:
        if report.get(M.CHECKPOINT_PATH):
            checkpoints[int(report[M.STEP])] = report[M.CHECKPOINT_PATH]
            evaluations.pop(int(report[M.STEP]), None)
        finished = report.get(M.EVALUATIONS) or []
        for evaluation in json.loads(finished) if isinstance(finished, str) else finished:
            evaluations[int(evaluation[M.EVAL_STEP])] = evaluation
    return [
        Candidate(trial_id, step, evaluation, checkpoints.get(step), dict(params))
        for step, evaluation in sorted(evaluations.items())
    ]


def best_candidate(candidates: list[Candidate], metric: str, mode: str) -> Candidate | None:
    """The best checkpoint that exists on storage by `metric`; ties go to the later step."""
    usable = [(value, c) for c in candidates if c.checkpoint_path and (value := c.value(metric)) is not None]
    if not usable:
        return None
    sign = 1 if mode == "max" else -1
    return max(usable, key=lambda vc: (sign * vc[0], vc[1].step))[1]
