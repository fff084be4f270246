"""The strategies the tabulated benchmark compares: each is a sweep's settings (orchestrator/configs/tune.py and the
eval config), so a winner here is a default to set there. PBT/PB2 are left out: an exploiting trial continues a
donor's checkpoint with new values, a training run no table holds."""
from __future__ import annotations

from benchmarks.tabular.replay import Strategy

STRATEGIES = {s.name: s for s in [
    Strategy("random", search="random", scheduler="none"),
    Strategy("tpe", search="optuna", scheduler="none"),
    Strategy("asha_random", search="random", scheduler="asha"),
    Strategy("asha_tpe", search="optuna", scheduler="asha"),  # the sweep's default until now
    Strategy("asha_tpe_lagged", search="optuna", scheduler="asha", report_at_once=False),  # the old report cadence
    Strategy("asha_tpe_grow", search="optuna", scheduler="asha", n_episodes=10, growth=2.0),
    Strategy("asha_tpe_wait", search="optuna", scheduler="asha", wait_for_rung=True),
    Strategy("asha_tpe_staged", search="optuna", scheduler="asha", stage=5),
    Strategy("asha_tpe_staged_wait", search="optuna", scheduler="asha", stage=5, wait_for_rung=True),
    Strategy("asha_random_staged", search="random", scheduler="asha", stage=5),
    Strategy("tpe_staged", search="optuna", scheduler="none", stage=5),
]}
