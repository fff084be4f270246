"""The tabulated push task as a live sweep (issue 17, item 8): the same space, values and budget as the table
(mw_push.py over act_grid.py), searched as a user would, so one real sweep of the defaults can be set beside
random search and beside the replay's prediction.

    python benchmarks/tabular/live_pair.py      (runs this file twice: the defaults, then random search)

Every value a searcher can propose is a point of the table (tune.choice over the grid's values), the evaluations sit
at the table's checkpoints (every 150 steps, 20 episodes: the demo's evaluation), and the default config is LeRobot's
ACT preset, the table's PRESET.
"""

from ray import tune

from benchmarks.tabular.act_grid import EVAL_STEPS, PRESET, base_config
from orchestrator.configs.train import EvalConfig
from orchestrator.configs.tune import Sweep, TuneConfig

sweep = Sweep(
    base=base_config("push", 150, tune.choice, eval_freq=EVAL_STEPS[0], eval=EvalConfig(n_episodes=20, batch_size=10)),
    tune=TuneConfig(metric="eval/success", mode="max", num_samples=12, confirm_top_k=3, confirm_episodes=50),
    ties={"policy.n_action_steps": "policy.chunk_size"},
    defaults=dict(PRESET),
)
