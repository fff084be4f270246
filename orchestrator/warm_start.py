"""`--tune.warm_start=<earlier experiment>`: a new sweep's Optuna searcher starts from what an earlier sweep learned.

The earlier sweep's trials (each at its result: its best evaluated checkpoint for eval/ metrics) are told to Optuna
as finished trials (Optuna's `add_trial`, through OptunaSearch's `points_to_evaluate` + `evaluated_rewards`): TPE
samples near the good ones from the first trial on, and none of them is trained again. Only trials whose values all
lie inside this sweep's space are told (Optuna rejects others); the rest are counted and named in the message.
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune.search.sample import Categorical, Domain, Float, Integer

from orchestrator import storage
from orchestrator.errors import UserError, problem

FIELD = "tune.warm_start"


@dataclass
class WarmStart:
    source: str  # the earlier experiment (folder or URI)
    points: list[dict[str, Any]]  # sampled values, by dotted field
    rewards: list[float]  # the earlier trials' results for the sweep's metric
    skipped: int  # earlier trials with no result, or with values outside this sweep's space


def load_warm_start(source: str, space: dict[str, Any], metric: str, mode: str, search: str) -> WarmStart:
    """Read the earlier experiment and keep what Optuna can be told; every problem is a UserError naming the field."""
    from orchestrator.experiment import load_experiment, reads

    if search != "optuna":
        raise UserError(problem(FIELD, f"seeds Optuna's searcher: use --tune.search=optuna (not {search})", source))
    folder = source if storage.is_uri(source) else str(Path(source).expanduser().resolve())
    if not storage.exists(storage.join(folder, "trials")):
        raise UserError(problem(FIELD, "is not an experiment folder (no trials/ in it): give "
                                "<tune.storage_path>/<experiment> of an earlier sweep", source))
    with tempfile.TemporaryDirectory(prefix="warm-start-") as tmp:
        local = storage.download(folder, Path(tmp) / "exp", skip=lambda rel: not reads(rel)) \
            if storage.is_uri(folder) else folder
        earlier = load_experiment(local)
    if earlier.metric != metric or earlier.mode != mode:
        raise UserError(problem(FIELD, f"that sweep optimized {earlier.metric} ({earlier.mode}), this one {metric} "
                                f"({mode}): its results would mislead the searcher", source))
    points, rewards = [], []
    for row in earlier.rows:
        value = row.value(metric)
        point = {name: row.params.get(name) for name in space}
        if value is None or not math.isfinite(value) or not all(
                name in row.params and inside(domain, row.params[name]) for name, domain in space.items()):
            continue
        points.append(point)
        rewards.append(float(value))
    if not points:
        raise UserError(problem(FIELD, f"none of its {len(earlier.rows)} trials has a {metric} result with every "
                                f"searched field inside this sweep's space ({', '.join(space)})", source))
    return WarmStart(source, points, rewards, len(earlier.rows) - len(points))


def inside(domain: Any, value: Any) -> bool:
    """Whether `value` is one this sweep's distribution could have sampled."""
    if isinstance(domain, Categorical):
        return any(value == c or (isinstance(c, tuple) and list(c) == value) for c in domain.categories)
    if isinstance(domain, Integer):
        return isinstance(value, (int, float)) and float(value).is_integer() and domain.lower <= value < domain.upper
    if isinstance(domain, Float):
        return isinstance(value, (int, float)) and domain.lower <= value <= domain.upper
    return not isinstance(domain, Domain) and value == domain
