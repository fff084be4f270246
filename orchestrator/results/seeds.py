"""A trial's place among the seeds of its config (`--tune.repeats=N`), read from its sampled config, and the spread
of a config's results over its seeds. Pure: the report reads them without importing Ray (orchestrator/search/repeats.py
holds the Ray Tune side)."""

from __future__ import annotations

import hashlib
import json
import statistics
from typing import Any

TRIAL_INDEX = "__trial_index__"  # the key Ray Tune's Repeater gives each repeat of a config (ray.tune.search.repeater)
CONFIG_ID = "__config_id__"  # the first trial's id, added by orchestrator.search.repeats.Repeats to every repeat
RESERVED = (TRIAL_INDEX, CONFIG_ID)


def split_repeat_keys(sample: dict[str, Any]) -> tuple[dict[str, Any], int, str | None]:
    """(the sampled fields, the repeat index, the config id) of a trial's config."""
    fields = {k: v for k, v in sample.items() if k not in RESERVED}
    return fields, int(sample.get(TRIAL_INDEX) or 0), sample.get(CONFIG_ID)


def config_id_of(params: dict[str, Any]) -> str | None:
    """The config id of a trial: the one its searcher gave, or (grid search) a short hash of its sampled fields.
    None when the sweep did not repeat."""
    fields, _, given = split_repeat_keys(params)
    if given is not None:
        return str(given)
    if TRIAL_INDEX not in params:
        return None
    return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:8]


def spread(values: list[float]) -> dict[str, float | int]:
    """Mean, sample std (0 for one value), min and max of a config's results over its seeds."""
    return {
        "n": len(values),
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }
