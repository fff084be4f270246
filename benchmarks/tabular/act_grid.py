"""The sweep file shape shared by the ACT-on-MetaWorld tasks of the tabulated benchmark: a grid over the learning
rate, the chunk size (executed whole), the model width and kl_weight, trained to the demo's budget and checkpointed at
every evaluation step; record.py evaluates the checkpoints afterwards, per episode."""

from __future__ import annotations

from ray import tune

from benchmarks.tabular.grid import not_recorded
from orchestrator.configs.features import NormalizationMode
from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import DatasetConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.envs.metaworld import MetaWorldEnvConfig
from orchestrator.policies.act.configuration import ACTConfig

GRID = {  # ordered, quantized values: the table holds every combination
    "optimizer.lr": [3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3],
    "policy.chunk_size": [10, 20],
    "policy.dim_model": [64, 128],
    "policy.kl_weight": [1.0, 10.0],
}
# LeRobot's ACT preset at this model size: the baseline a LeRobot user starts from (it is a point of the grid)
PRESET = {"optimizer.lr": 1e-5, "policy.chunk_size": 20, "policy.dim_model": 128, "policy.kl_weight": 10.0}
EVAL_STEPS = [150, 300, 450, 600]  # checkpoints evaluated; the last on LAST_EPISODES, the others on EVAL_EPISODES
EVAL_EPISODES = 50
LAST_EPISODES = 150


def base_config(env_task: str, episode_length: int, distribution, **fields) -> TrainPipelineConfig:
    """The task's config with each field of GRID drawn by `distribution` over its values (tune.grid_search to
    record the table, tune.choice to search it live); `fields` set the rest (evaluation, ...)."""
    return TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=f"local/mw_{env_task}_expert", record_episodes=50),
        env=MetaWorldEnvConfig(task=env_task, episode_length=episode_length),
        policy=ACTConfig(
            chunk_size=distribution(GRID["policy.chunk_size"]),
            dim_model=distribution(GRID["policy.dim_model"]),
            n_heads=4,
            dim_feedforward=256,
            n_encoder_layers=2,
            n_decoder_layers=1,
            n_vae_encoder_layers=2,
            latent_dim=16,
            kl_weight=distribution(GRID["policy.kl_weight"]),
            normalization_mapping={
                "STATE": NormalizationMode.MEAN_STD,
                "ENV": NormalizationMode.MEAN_STD,
                "ACTION": NormalizationMode.MEAN_STD,
            },
        ),
        optimizer=AdamWConfig(lr=distribution(GRID["optimizer.lr"]), weight_decay=1e-4, grad_clip_norm=10.0),
        steps=EVAL_STEPS[-1],
        batch_size=64,
        log_freq=50,
        save_freq=EVAL_STEPS[0],
        **fields,
    )


def grid_sweep(table: str, env_task: str, episode_length: int) -> Sweep:
    return Sweep(
        # record.py evaluates every checkpoint afterwards, per episode
        base=base_config(env_task, episode_length, tune.grid_search, eval_freq=0),
        tune=TuneConfig(
            metric="train/loss",
            mode="min",
            search="grid",
            scheduler="none",
            num_samples=1,
            baseline=False,
            confirm_top_k=0,
            max_concurrent_trials=1,
        ),  # (the grid once)
        ties={"policy.n_action_steps": "policy.chunk_size"},
        constraints={"not recorded yet": not_recorded(table, GRID)},  # a resumed recording trains only what is missing
    )
