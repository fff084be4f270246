"""`--tune.warm_start=<earlier experiment>`: a new sweep's Optuna searcher starts from what an earlier sweep learned.

The earlier sweep's trials (each at its result: its best evaluated checkpoint for eval/ metrics) are told to Optuna
as finished trials (Optuna's `add_trial`, through OptunaSearch's `points_to_evaluate` + `evaluated_rewards`): TPE
samples near the good ones from the first trial on. Only trials whose values all lie inside this sweep's space are
told (Optuna rejects others); the rest are counted and named in the message.

An earlier trial that was this sweep's very run (the same concrete TrainPipelineConfig, seed included, up to where
and how it was recorded) counts as evaluated: the searcher never suggests its config again (orchestrator/search/
untried.py). An earlier trial of another run (other steps, another dataset, ...) is told all the same, but its config
may be trained here. The earlier baseline, when it is this sweep's baseline run, is reused (its result and its
checkpoint, which the confirmation evaluates again) instead of trained again.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray.tune.search.sample import Categorical, Domain, Float, Integer

from orchestrator import terminal
from orchestrator.configs.parsing import build_config, encode
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import UserError, problem
from orchestrator.experiment_layout import BASELINE, PARAMS, RESULT, TRIALS, trial_folder
from orchestrator.results.rows import TrialRow
from orchestrator.runtime import storage
from orchestrator.runtime.experiment import load_experiment, reads
from orchestrator.search.untried import config_key

FIELD = "tune.warm_start"
# Fields that say where and how a run is recorded, not what it computes: runs that differ only there are one run.
RECORDING = ("output_dir", "job_name", "resume", "wandb", "hub", "resources.placement_timeout_s")


@dataclass
class EarlierBaseline:
    """The earlier sweep's baseline, found to be this sweep's baseline run: reused, not trained again."""

    row: TrialRow  # its result (every evaluation, its best checkpoint) as the earlier sweep recorded it
    files: dict[str, str]  # its Tune trial folder's params.json and result.json, copied into this sweep's baseline/


@dataclass
class WarmStart:
    source: str  # the earlier experiment (folder or URI)
    points: list[dict[str, Any]]  # sampled values, by dotted field
    rewards: list[float]  # the earlier trials' results for the sweep's metric
    skipped: int  # earlier trials with no result, or with values outside this sweep's space
    evaluated: list[dict[str, Any]] = field(default_factory=list)  # points whose every seed here (--tune.repeats)
    #   the earlier sweep ran as this sweep would: never suggested again
    baseline: EarlierBaseline | None = None  # the earlier baseline, when it is this sweep's (same config and seed)
    baseline_note: str = ""  # why the earlier baseline is not reused, when it is not


def load_warm_start(
    source: str,
    space: dict[str, Any],
    metric: str,
    mode: str,
    search: str,
    config_of: Callable[[dict], TrainPipelineConfig] | None = None,
    repeats: int = 1,
) -> WarmStart:
    """Read the earlier experiment and keep what Optuna can be told; every problem is a UserError naming the field.
    `config_of(sample)`: the concrete config this sweep trains for a sampled point ({} is the baseline's); without
    it no earlier run counts as this sweep's (nothing is kept from being trained)."""
    if search != "optuna":
        raise UserError(problem(FIELD, f"seeds Optuna's searcher: use --tune.search=optuna (not {search})", source))
    folder = storage.resolve(source)
    if not storage.exists(storage.join(folder, TRIALS)):
        raise UserError(
            problem(
                FIELD,
                "is not an experiment folder (no trials/ in it): give "
                "<tune.storage_path>/<experiment> of an earlier sweep",
                source,
            )
        )
    with tempfile.TemporaryDirectory(prefix="warm-start-") as tmp:
        local = (
            storage.download(folder, Path(tmp) / "exp", skip=lambda rel: not reads(rel))
            if storage.is_uri(folder)
            else folder
        )
        earlier = load_experiment(local)
        baseline_files = (
            _tune_files(Path(local) / BASELINE / trial_folder(earlier.baseline.trial_id)) if earlier.baseline else {}
        )
    if earlier.metric != metric or earlier.mode != mode:
        raise UserError(
            problem(
                FIELD,
                f"that sweep optimized {earlier.metric} ({earlier.mode}), this one {metric} "
                f"({mode}): its results would mislead the searcher",
                source,
            )
        )
    points, rewards = [], []
    for row in earlier.rows:
        value = row.value(metric)
        point = {name: row.params.get(name) for name in space}
        if (
            value is None
            or not math.isfinite(value)
            or not all(name in row.params and inside(domain, row.params[name]) for name, domain in space.items())
        ):
            continue
        points.append(point)
        rewards.append(float(value))
    if not points:
        raise UserError(
            problem(
                FIELD,
                f"none of its {len(earlier.rows)} trials has a {metric} result with every "
                f"searched field inside this sweep's space ({', '.join(space)})",
                source,
            )
        )
    warm = WarmStart(source, points, rewards, len(earlier.rows) - len(points))
    if config_of is not None:
        warm.evaluated = evaluated_points(earlier, space, config_of, repeats)
        baseline = earlier.baseline
        why = baseline_problem(
            baseline, earlier.configs.get(baseline.trial_id) if baseline else None, config_of({}), metric
        )
        if why is None and baseline is not None:  # (no problem: there is a baseline)
            warm.baseline = EarlierBaseline(baseline, baseline_files)
        warm.baseline_note = why or ""
    return warm


def same_run(saved: dict | None, cfg: TrainPipelineConfig) -> bool:
    """Whether an earlier run's saved train_config.json is `cfg`'s run: every field equal (seed included) but those
    naming where and how it was recorded (RECORDING). An unreadable config is not."""
    if not saved:
        return False
    try:
        earlier = encode(build_config(saved, []))
    except Exception:  # noqa: BLE001  (a config of another version of the project, a folder gone since, ...)
        return False
    return _computed(earlier) == _computed(encode(cfg))


def _computed(config: dict) -> dict:
    """An encoded config without its RECORDING fields."""
    out = dict(config)
    for dotted in RECORDING:
        section, _, name = dotted.rpartition(".")
        if section:
            out[section] = {k: v for k, v in (out.get(section) or {}).items() if k != name}
        else:
            out.pop(name, None)
    return out


def baseline_problem(row: TrialRow | None, saved: dict | None, cfg: TrainPipelineConfig, metric: str) -> str | None:
    """Why the earlier sweep's baseline (`row`, its saved config) cannot stand for this sweep's baseline `cfg`; None
    when it can: it finished, has an evaluated checkpoint that exists, and is the same run (config and seed)."""
    if row is None:
        return "that sweep has no baseline"
    if row.status != "finished":
        return f"its baseline is {row.status}"
    if row.best is None or not row.best.checkpoint_path or row.value(metric) is None:
        return f"its baseline has no checkpoint with a {metric} result"
    if not same_run(saved, cfg):
        return "its baseline's config or seed is not this sweep's"
    if not storage.exists(row.best.checkpoint_path):
        return f"its baseline's checkpoint {row.best.checkpoint_path} is not there any more"
    return None


def evaluated_points(
    earlier, space: dict[str, Any], config_of: Callable[[dict], TrainPipelineConfig], repeats: int
) -> list[dict[str, Any]]:
    """The points the earlier sweep trained, to a result, with each seed this sweep gives a config (seed + 0 ..
    seed + repeats - 1) exactly as this sweep would."""
    seeds: dict[str, set[int]] = {}
    points: dict[str, dict[str, Any]] = {}
    for row in earlier.rows:
        saved = earlier.configs.get(row.trial_id)
        if (
            row.status not in ("finished", "stopped early")
            or not saved
            or not all(name in row.params and inside(domain, row.params[name]) for name, domain in space.items())
        ):
            continue
        point = {name: row.params[name] for name in space}
        ours, seed = config_of(point), saved.get("seed")
        index = seed - ours.seed if isinstance(seed, int) else -1  # the repeat index whose seed it trained with
        if 0 <= index < repeats:
            ours.seed = seed
        if 0 <= index < repeats and same_run(saved, ours):
            key = config_key(point)
            seeds.setdefault(key, set()).add(index)
            points[key] = point
    return [points[key] for key, found in seeds.items() if len(found) == repeats]


def reuse_baseline(warm: WarmStart | None, storage_dir: str, log: str | None = None) -> TrialRow | None:
    """The earlier baseline as this sweep's (its Tune files copied into <experiment>/baseline/, so the report and
    `report` find it; its checkpoint stays in the earlier experiment), or None: train it."""
    if warm is None or warm.baseline is None:
        if warm is not None:
            terminal.say_and_log(f"baseline: trained (the warm start's is not reused: {warm.baseline_note})", log)
        return None
    row = warm.baseline.row
    assert row.best is not None, "a reused baseline has its evaluated checkpoint (baseline_problem)"
    for name, text in warm.baseline.files.items():
        storage.write_text(storage.join(storage_dir, BASELINE, trial_folder(row.trial_id), name), text)
    terminal.say_and_log(
        f"baseline: {row.trial_id} of {warm.source} reused, not trained again (the same config and "
        f"seed); its checkpoint at step {row.best.step} is confirmed with the others",
        log,
    )
    return dataclasses.replace(row, seconds=0.0)  # trained by the earlier sweep: none of this sweep's compute


def _tune_files(trial_dir: Path) -> dict[str, str]:
    """The files of a Tune trial folder that an experiment is read back from (orchestrator/runtime/experiment.py)."""
    return {name: (trial_dir / name).read_text() for name in (PARAMS, RESULT) if (trial_dir / name).is_file()}


def inside(domain: Any, value: Any) -> bool:
    """Whether `value` is one this sweep's distribution could have sampled."""
    if isinstance(domain, Categorical):
        return any(value == c or (isinstance(c, tuple) and list(c) == value) for c in domain.categories)
    if isinstance(domain, Integer):
        return isinstance(value, (int, float)) and float(value).is_integer() and domain.lower <= value < domain.upper
    if isinstance(domain, Float):
        return isinstance(value, (int, float)) and domain.lower <= value <= domain.upper
    return not isinstance(domain, Domain) and value == domain
