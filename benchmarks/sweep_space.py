"""Search space of benchmarks/bench_sweep_overhead.py: the demo's ACT with only the learning rate searched.

Eval off and no scheduler, so every trial trains exactly `steps` steps and nothing but start-up, training and
teardown takes time; the benchmark sets `steps`, `log_freq` and the storage on the command line.
"""

from ray import tune

from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import DatasetConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(record_episodes=20),
        policy=ACTConfig(
            chunk_size=20,
            n_action_steps=20,
            dim_model=128,
            n_heads=4,
            dim_feedforward=256,
            n_encoder_layers=2,
            n_vae_encoder_layers=2,
            latent_dim=16,
            kl_weight=10.0,
        ),
        optimizer=AdamWConfig(lr=tune.choice([1e-4, 3e-4, 1e-3]), weight_decay=1e-4, grad_clip_norm=10.0),
        steps=300,
        batch_size=64,
        log_freq=25,
        save_freq=300,
        eval_freq=0,
    ),
    tune=TuneConfig(
        metric="train/loss",
        mode="min",
        search="random",
        scheduler="none",
        num_samples=2,
        max_concurrent_trials=2,
        baseline=False,
    ),
)
