"""The MLP baseline on PushT keypoints: a quick sweep to compare ACT against.

python -m orchestrator sweep search_spaces/mlp.py
"""

from ray import tune

from orchestrator.configs.optim import AdamConfig
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.mlp.configuration import MLPConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        policy=MLPConfig(
            hidden_dims=tune.choice([[128, 128], [256, 256, 256]]),
            chunk_size=tune.choice([4, 8]),
            dropout=tune.uniform(0.0, 0.3),
        ),
        optimizer=AdamConfig(lr=tune.loguniform(1e-4, 3e-3)),
        steps=1000,
        log_freq=100,
        save_freq=500,
        eval_freq=500,
    ),
    tune=TuneConfig(metric="eval/avg_max_reward", mode="max", num_samples=4),
    ties={"policy.n_action_steps": "policy.chunk_size"},
    defaults={"policy.hidden_dims": [256, 256], "policy.chunk_size": 8, "optimizer.lr": 1e-3},
)
