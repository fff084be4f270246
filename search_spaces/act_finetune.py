"""Fine-tune a saved ACT (yours, or one LeRobot trained: a folder or a Hub id) and search how to fine-tune it.

    python -m orchestrator sweep search_spaces/act_finetune.py --policy.path=<folder or org/name> \
        --dataset.root=<your LeRobot dataset> [--env.type=...]

The saved policy's config (its architecture, chunk size and features) replaces this file's policy section and
sits under the search space: only fields that keep the weights' shapes are searched (the learning rate, weight
decay, dropout, the KL weight), and a field that would change them is refused before Ray starts. Every trial starts
from the saved weights and normalizes with your dataset's statistics (as LeRobot's fine-tuning does). The baseline
is LeRobot's ACT preset (AdamW lr 1e-5, weight decay 1e-4, kl_weight 10, dropout 0.1) on the same checkpoint.
Without --policy.path this trains LeRobot's default ACT from scratch.
"""

from ray import tune

from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        policy=ACTConfig(
            kl_weight=tune.loguniform(1.0, 30.0),
            dropout=tune.uniform(0.0, 0.3),
        ),
        optimizer=AdamWConfig(
            lr=tune.loguniform(3e-6, 3e-4), weight_decay=tune.loguniform(1e-6, 1e-2), grad_clip_norm=10.0
        ),
        steps=1000,
        batch_size=32,
        log_freq=100,
        save_freq=250,
        eval_freq=250,
        eval=EvalConfig(n_episodes=10, batch_size=10),
    ),
    tune=TuneConfig(metric="eval/success", mode="max", num_samples=6),
    # The baseline ("default config"): LeRobot's ACT preset on the same checkpoint.
    defaults={"policy.kl_weight": 10.0, "policy.dropout": 0.1, "optimizer.lr": 1e-5, "optimizer.weight_decay": 1e-4},
)
