"""Tabulated benchmark task: ACT on MetaWorld drawer-open (state observations), the same 48-config grid as mw_push
(act_grid.py).

    python benchmarks/tabular/record.py mw_drawer_open

A second task of another kind (a drawer pulled open, not an object pushed to a goal), so that a strategy's advantage
is not one task's accident. Episodes end at 200 steps (the scripted expert needs 87-93).
"""
from benchmarks.tabular.act_grid import EVAL_EPISODES, EVAL_STEPS, GRID, LAST_EPISODES, PRESET, grid_sweep  # noqa: F401

TASK = "mw_drawer_open"
sweep = grid_sweep(TASK, "drawer-open", episode_length=200)
