"""The tabulated push task as a live sweep (issue 17, item 8): the same space, values and budget as the table
(mw_push.py over act_grid.py), searched as a user would, so one real sweep of the defaults can be set beside
random search and beside the replay's prediction.

    python benchmarks/tabular/live_pair.py      (runs this file twice: the defaults, then random search)

Every value a searcher can propose is a point of the table (tune.choice over the grid's values), the evaluations sit
at the table's checkpoints (every 150 steps, 20 episodes: the demo's evaluation), and the default config is LeRobot's
ACT preset, the table's PRESET.
"""

from ray import tune

from benchmarks.tabular.act_grid import EVAL_STEPS, GRID, PRESET
from orchestrator.configs.features import NormalizationMode
from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import DatasetConfig, EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.envs.metaworld import MetaWorldEnvConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(repo_id="local/mw_push_expert", record_episodes=50),
        env=MetaWorldEnvConfig(task="push", episode_length=150),
        policy=ACTConfig(
            chunk_size=tune.choice(GRID["policy.chunk_size"]),
            dim_model=tune.choice(GRID["policy.dim_model"]),
            n_heads=4,
            dim_feedforward=256,
            n_encoder_layers=2,
            n_decoder_layers=1,
            n_vae_encoder_layers=2,
            latent_dim=16,
            kl_weight=tune.choice(GRID["policy.kl_weight"]),
            normalization_mapping={
                "STATE": NormalizationMode.MEAN_STD,
                "ENV": NormalizationMode.MEAN_STD,
                "ACTION": NormalizationMode.MEAN_STD,
            },
        ),
        optimizer=AdamWConfig(lr=tune.choice(GRID["optimizer.lr"]), weight_decay=1e-4, grad_clip_norm=10.0),
        steps=EVAL_STEPS[-1],
        batch_size=64,
        log_freq=50,
        save_freq=EVAL_STEPS[0],
        eval_freq=EVAL_STEPS[0],
        eval=EvalConfig(n_episodes=20, batch_size=10),
    ),
    tune=TuneConfig(metric="eval/success", mode="max", num_samples=12, confirm_top_k=3, confirm_episodes=50),
    ties={"policy.n_action_steps": "policy.chunk_size"},
    defaults=dict(PRESET),
)
