"""An experiment folder read back from its files alone, with no Ray: what `report` rebuilds the report from.

Works on a finished sweep, on one still running (Tune appends to each trial's result.json as reports arrive), on a
cluster's shared storage and on a copy on a laptop. Paths written inside the files (checkpoint paths, Tune's
storage) may be absolute paths of another machine: they are kept as text and never opened; everything is found
relative to the folder (its layout: orchestrator/experiment_layout.py).

    <experiment>/trials/trial_<id>/{params.json, result.json, error.txt}   Tune's trial folders
    <experiment>/trials/experiment_state-*.json                             Tune's trial statuses (RUNNING, ...)
    <experiment>/baseline/trial_<id>/...                                    the default config's run
    <experiment>/train/trial_<id>/checkpoint_*/pretrained_model/train_config.json   each trial's concrete config
    <experiment>/summary.json                                                written when the sweep ends
    <experiment>/interrupted.json          written when Ctrl-C/SIGINT/SIGTERM stopped the sweep; gone once it resumes
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import metrics as M
from orchestrator.configs.parsing import build_config
from orchestrator.errors import UserError
from orchestrator.experiment_layout import (
    BASELINE,
    CHECKPOINTS,
    ERROR,
    EXPERIMENT_STATES,
    INTERRUPTED,
    PARAMS,
    PRETRAINED,
    RESULT,
    SUMMARY,
    TRAIN,
    TRIALS,
    trial_folder,
    trial_id_of,
)
from orchestrator.results.candidates import parse_reports
from orchestrator.results.rows import TrialRow, headline_metric, rank, trial_row
from orchestrator.runtime import storage
from orchestrator.runtime.resources import trial_footprint

# Tune's trial statuses, as the report names them (TERMINATED becomes finished or stopped early by its last step).
_STATUS = {"RUNNING": "running", "PENDING": "pending", "PAUSED": "paused", "ERROR": "error"}
# ... and as it names them after an interrupt (Tune saved its state with them still running or waiting).
_INTERRUPTED_STATUS = {"RUNNING": "interrupted", "PAUSED": "interrupted", "PENDING": "not started"}
_TRAIN_CONFIG = f"{PRETRAINED}/train_config.json"  # in each checkpoint: the trial's concrete config


def reads(rel: str) -> bool:
    """Whether load_experiment reads this file of an experiment (its path relative to the experiment): what to
    download of an experiment in object storage (no weights, no optimizer state)."""
    top = rel.split("/", 1)[0]
    return (
        top in (TRIALS, BASELINE)
        or rel in (SUMMARY, INTERRUPTED)
        or (top == TRAIN and rel.endswith(f"/{_TRAIN_CONFIG}"))
    )


def mark_interrupted(folder: str | Path, signal_name: str) -> None:
    """Record that a signal stopped the sweep in `folder`, a path or a URI (the report then says "interrupted", not
    "running")."""
    import time

    storage.write_text(storage.join(folder, INTERRUPTED), json.dumps({"signal": signal_name, "time": time.time()}))


def clear_interrupted(folder: str | Path) -> None:
    """The sweep in `folder` (a path or a URI) runs again."""
    path = storage.join(folder, INTERRUPTED)
    if storage.exists(path):
        fs, fs_path = storage.filesystem(path)
        fs.delete_file(fs_path)


@dataclass
class Experiment:
    folder: Path
    name: str
    metric: str
    mode: str
    steps: int | None  # the training budget of a trial (None: no trial's config was found)
    rows: list[TrialRow]  # ranked by `metric`, best first
    baseline: TrialRow | None
    summary: dict | None  # summary.json: present once the sweep has finished
    space: dict[str, dict]  # searched field -> {"kind": float|int|categorical, low, high, log | choices}
    footprint: dict[str, dict[str, float]]  # trial id -> resources it held while it ran ({"CPU": 3.0, "GPU": 0})
    notes: list[str] = field(default_factory=list)  # what could not be read, and what was inferred instead

    interrupted: bool = False  # a signal stopped the sweep and it has not been resumed since
    configs: dict[str, dict] = field(default_factory=dict)  # trial id -> its train_config.json (trials, baseline)

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """[(metric, mode)] the sweep optimized: several when it had several objectives (summary.json), the first
        being `metric`."""
        listed = (self.summary or {}).get("objectives") or []
        return [(o["metric"], o["mode"]) for o in listed] or [(self.metric, self.mode)]

    @property
    def running(self) -> bool:
        if self.interrupted:
            return False
        return any(r.status in ("running", "pending", "paused") for r in self.rows) or self.summary is None


def load_experiment(folder: str | Path) -> Experiment:
    folder = Path(folder).expanduser().resolve()
    notes: list[str] = []
    summary = _read_json(folder / SUMMARY)
    trials = _trial_folders(folder / TRIALS)
    baseline_folders = _trial_folders(folder / BASELINE)
    configs = {tid: _train_config(folder, tid) for tid in [*trials, *baseline_folders]}
    any_config = next((c for c in configs.values() if c), None)
    steps = int(any_config["steps"]) if any_config and "steps" in any_config else None
    metric, mode = _metric_and_mode(folder, summary)
    histories = {tid: _history(path) for tid, path in {**trials, **baseline_folders}.items()}
    if steps is None:
        seen = [h[-1].get(M.STEP, 0) for h in histories.values() if h]
        steps = max(seen) if seen else None
        notes.append(
            "no trial's train_config.json was found under train/: a trial counts as finished at the "
            f"largest step any trial reached ({steps})"
        )
    statuses = {**_tune_statuses(folder / TRIALS), **_tune_statuses(folder / BASELINE)}
    interrupted = (folder / INTERRUPTED).exists()

    def row(tid: str, path: Path) -> TrialRow:
        history = histories[tid]
        last = history[-1] if history else {}
        params = _read_json(path / PARAMS) or dict(last.get("config") or {})
        return trial_row(
            tid,
            _status(statuses.get(tid), path, last, steps, interrupted),
            params,
            history,
            last,
            metric or M.EVAL_SUCCESS,
            mode,
        )

    rows = [row(tid, path) for tid, path in trials.items()]
    if metric is None:
        metric = headline_metric(rows)
        notes.append(f"the sweep's metric is not recorded yet: ranked by {metric}")
        rows = [row(tid, path) for tid, path in trials.items()]
    baseline = next((row(tid, path) for tid, path in baseline_folders.items()), None)
    space = (summary or {}).get("search_space_spec") or infer_space([r.params for r in rows])
    footprint = {tid: _footprint(c) for tid, c in configs.items() if c}
    return Experiment(
        folder,
        folder.name,
        metric,
        mode,
        steps,
        rank(rows, metric, mode),
        baseline,
        summary,
        space,
        {k: v for k, v in footprint.items() if v is not None},
        notes,
        interrupted,
        {k: c for k, c in configs.items() if c},
    )


def _trial_folders(tune_dir: Path) -> dict[str, Path]:
    """trial id -> folder (our trial folders are named trial_<id>); only folders holding a report or params."""
    if not tune_dir.is_dir():
        return {}
    found = {}
    for path in sorted(tune_dir.iterdir()):
        if path.is_dir() and ((path / RESULT).exists() or (path / PARAMS).exists()):
            found[trial_id_of(path.name)] = path
    return found


def _history(trial_dir: Path) -> list[dict]:
    """Every report so far, oldest first; a line being written (a running trial) is skipped."""
    try:
        return parse_reports((trial_dir / RESULT).read_text())
    except OSError:
        return []


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _tune_statuses(tune_dir: Path) -> dict[str, str]:
    """trial id -> Tune's status, from its newest experiment_state file (absent or unreadable: {})."""
    # Newest by the time stamp in the name, as Tune picks it: a resumed sweep copies the older files again, so
    # their modification times say nothing.
    states = sorted(tune_dir.glob(EXPERIMENT_STATES)) if tune_dir.is_dir() else []
    state = _read_json(states[-1]) if states else None
    out = {}
    for entry in (state or {}).get("trial_data", []):
        try:
            trial = json.loads(entry[0])
            out[str(trial["trial_id"])] = str(trial["status"])
        except (TypeError, KeyError, IndexError, json.JSONDecodeError):
            continue
    return out


def _status(tune_status: str | None, trial_dir: Path, last: dict, steps: int | None, interrupted: bool = False) -> str:
    if interrupted and tune_status in _INTERRUPTED_STATUS:
        return _INTERRUPTED_STATUS[tune_status]
    if tune_status in _STATUS:
        return _STATUS[tune_status]
    if (trial_dir / ERROR).exists():
        return "error"
    reached = last.get(M.STEP, 0)
    if steps is not None and reached >= steps:
        return "finished"
    if tune_status == "TERMINATED" or last.get("done"):
        return "stopped early"
    return "running or interrupted"


def _metric_and_mode(folder: Path, summary: dict | None) -> tuple[str | None, str]:
    """From summary.json; while the sweep runs, the metric from Tune's experiment state (mode: min for losses)."""
    if summary and summary.get("metric"):
        return summary["metric"], summary.get("mode", "max")
    states = sorted((folder / TRIALS).glob(EXPERIMENT_STATES)) if (folder / TRIALS).is_dir() else []
    state = _read_json(states[-1]) if states else None
    metric = ((state or {}).get("runner_data") or {}).get("_metric")
    return metric, ("min" if metric and ("loss" in metric or metric.endswith("_s")) else "max")


def _train_config(folder: Path, trial_id: str) -> dict | None:
    """The trial's concrete config as saved beside its checkpoints (any of them: they are equal)."""
    for path in sorted((folder / TRAIN / trial_folder(trial_id)).glob(f"{CHECKPOINTS}/{_TRAIN_CONFIG}")):
        config = _read_json(path)
        if config:
            return config
    return None


def _footprint(config: dict) -> dict[str, float] | None:
    """What the trial held while it ran (driver + evaluators + Train workers), as the sweep reserved it."""
    try:
        return trial_footprint(build_config(config, []))
    except UserError:  # a config another version of the project wrote, which this one cannot read: compute unknown
        return None


def infer_space(params: list[dict]) -> dict[str, dict]:
    """The searched fields as seen in the trials' sampled values (a running sweep has no summary.json yet): numbers
    span the values seen (log scale when positive and over a decade), anything else is a choice."""
    space: dict[str, dict] = {}
    for name in sorted({k for p in params for k in p}):
        values = [p[name] for p in params if name in p]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            low, high = min(values), max(values)
            kind = "int" if all(isinstance(v, int) for v in values) else "float"
            if kind == "int" and len(set(values)) <= 4:
                space[name] = {"kind": "categorical", "choices": sorted(set(values))}
                continue
            space[name] = {"kind": kind, "low": low, "high": high, "log": low > 0 and high >= 10 * low}
        else:
            space[name] = {"kind": "categorical", "choices": _unique([choice_value(v) for v in values])}
    return space


def space_spec(space: dict) -> dict[str, dict]:
    """A Ray Tune param space (space.py's) as plain JSON, for summary.json and the report's parameter importance."""
    from ray.tune.search.sample import Categorical, Float, Integer

    spec: dict[str, dict] = {}
    for name, dist in space.items():
        if isinstance(dist, dict) and "grid_search" in dist:
            spec[name] = {"kind": "categorical", "choices": [choice_value(v) for v in dist["grid_search"]]}
        elif isinstance(dist, Categorical):
            spec[name] = {"kind": "categorical", "choices": [choice_value(v) for v in dist.categories]}
        elif isinstance(dist, (Float, Integer)):
            sampler = type(dist.get_sampler()).__name__.lower()
            high = dist.upper - 1 if isinstance(dist, Integer) else dist.upper  # randint's upper is exclusive
            spec[name] = {
                "kind": "int" if isinstance(dist, Integer) else "float",
                "low": dist.lower,
                "high": high,
                "log": "log" in sampler,
            }
    return spec


def choice_value(v: Any) -> Any:
    """A choice as Optuna can hold it (None, bool, int, float, str): other values by their JSON text."""
    return v if v is None or isinstance(v, (bool, int, float, str)) else json.dumps(v)


def _unique(values: list) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def finite(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None
