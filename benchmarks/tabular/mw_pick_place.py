"""Tabulated benchmark task: ACT on MetaWorld pick-place (state observations), the same 48-config grid as mw_push
(act_grid.py).

    python benchmarks/tabular/record.py mw_pick_place

A second task of another kind (grasp, lift and place a puck, not push it), so that a strategy's advantage is not one
task's accident. A pilot: lr 1e-3 (chunk 10, width 128, kl_weight 10) at 93 % on 30 episodes at step 300.
drawer-open was recorded first and dropped: 17 of its first 19 configs reached 99-100 %, lr 3e-6 among them, so the
space did not matter there. Episodes end at 200 steps.
"""

from benchmarks.tabular.act_grid import EVAL_EPISODES, EVAL_STEPS, GRID, LAST_EPISODES, PRESET, grid_sweep  # noqa: F401

TASK = "mw_pick_place"
sweep = grid_sweep(TASK, "pick-place", episode_length=200)
