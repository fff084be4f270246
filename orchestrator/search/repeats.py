"""Seeds as a dimension: `--tune.repeats=N` trains each sampled config N times, with seeds seed, seed + 1, ...

Ray's own mechanism does it: `ray.tune.search.Repeater` asks the searcher once per config, hands the same config to
N trials (each with its index, `__trial_index__`), and tells the searcher the mean of the N results. `Repeats` adds
the config's id to every trial's config (`__config_id__`: the first trial's id), so the report can group the seeds
of one suggestion even when a searcher suggests the same values twice, and it tells the searcher that a config is
infeasible (orchestrator/search/constraints.py) instead of averaging nothing. Grid search (no searcher) repeats by a grid
over the index instead. Every trial is a whole run of its own: ASHA decides per trial, as without repeats.

The report ranks configs by the mean of their trials' results and shows the spread (std, min-max); best/ is the best
seed's checkpoint of the best config.
"""

from __future__ import annotations

import math
import os
import pickle
import statistics
import tempfile
from typing import Any

from ray import tune
from ray.tune.search import Repeater

from orchestrator.metrics import INFEASIBLE
from orchestrator.results.seeds import CONFIG_ID, TRIAL_INDEX
from orchestrator.search.optuna_glue import config_group


def grid_space(space: dict[str, Any], repeats: int) -> dict[str, Any]:
    """A grid search's space with the repeat index as one more grid dimension."""
    return {**space, TRIAL_INDEX: tune.grid_search(list(range(repeats)))} if repeats > 1 else space


class Repeats(Repeater):
    """Ray's Repeater, plus the config id in each trial's config and infeasible configs passed on as such."""

    def __init__(self, searcher, repeat: int):
        super().__init__(searcher, repeat=repeat, set_index=True)
        self._infeasible: dict[str, dict] = {}

    def suggest(self, trial_id: str):
        config = super().suggest(trial_id)
        if isinstance(config, dict):
            config[CONFIG_ID] = config_group(self, trial_id).primary_trial_id
        return config

    def save(self, checkpoint_path: str) -> None:
        """The inner searcher's state AND the groups (Ray's Repeater saves only the former: after a resume, the seeds
        still running of a config would never be told to the searcher, and its trial would stay open forever)."""
        with tempfile.TemporaryDirectory() as folder:
            inner = os.path.join(folder, "inner.pkl")
            self.searcher.save(inner)
            with open(inner, "rb") as f:
                state = {"inner": f.read(), "repeats": self.get_state()}
        with open(checkpoint_path, "wb") as f:
            pickle.dump(state, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        if not isinstance(state, dict) or "repeats" not in state:  # saved before the groups were kept
            self.searcher.restore(checkpoint_path)
            return
        with tempfile.TemporaryDirectory() as folder:
            inner = os.path.join(folder, "inner.pkl")
            with open(inner, "wb") as f:
                f.write(state["inner"])
            self.searcher.restore(inner)
        self.set_state(state["repeats"])

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = True, **kwargs) -> None:
        """(`error` defaults to True here: a group with no score whose last call said nothing counts as failed.)"""
        group = config_group(self, trial_id)
        if group is None:
            return
        metric = self.searcher.metric
        value = result.get(metric) if result else None
        group.report(trial_id, float(value) if isinstance(value, (int, float)) else math.nan)
        if result and result.get(INFEASIBLE):
            self._infeasible[group.primary_trial_id] = result
        if not group.finished_reporting():
            return
        scores = [s for s in group.scores() if not math.isnan(s)]
        if group.primary_trial_id in self._infeasible:
            self.searcher.on_trial_complete(group.primary_trial_id, result=self._infeasible[group.primary_trial_id])
        elif scores:
            self.searcher.on_trial_complete(group.primary_trial_id, result={metric: statistics.mean(scores)})
        else:
            self.searcher.on_trial_complete(group.primary_trial_id, result=None, error=error)
