"""ACT on PushT (keypoint observations), the embedded default dataset.

    python -m orchestrator sweep search_spaces/act.py

A normal TrainPipelineConfig whose fields hold Ray Tune distributions. The ACT is scaled down so a sweep finishes
on a laptop CPU in minutes; scale it up (dim_model=512, chunk_size=100: LeRobot's defaults) by overriding fields,
e.g. `--policy.dim_model=512`, or by editing this file.

On a CPU-minutes budget PushT success stays near 0 (the demo sweep therefore runs on MetaWorld button-press,
search_spaces/act_metaworld.py); this sweep optimizes the average max reward (the best coverage of the T reached per
episode, /0.95), which still tells configs apart. With a GPU budget, switch to `--tune.metric=eval/success`.
"""

from ray import tune

from orchestrator.configs.features import NormalizationMode
from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        policy=ACTConfig(
            chunk_size=tune.choice([10, 20]),
            dim_model=tune.choice([64, 128]),
            n_heads=4,
            dim_feedforward=256,
            n_encoder_layers=2,
            n_decoder_layers=tune.choice([1, 2]),
            n_vae_encoder_layers=2,
            latent_dim=16,
            kl_weight=tune.loguniform(1.0, 30.0),
            # PushT's keypoints are pixel coordinates (0..512): normalize them too (LeRobot's ACT leaves ENV as is)
            normalization_mapping={
                "STATE": NormalizationMode.MEAN_STD,
                "ENV": NormalizationMode.MEAN_STD,
                "ACTION": NormalizationMode.MEAN_STD,
            },
        ),
        optimizer=AdamWConfig(lr=tune.loguniform(1e-4, 3e-3), weight_decay=1e-4, grad_clip_norm=10.0),
        steps=1200,
        batch_size=64,
        log_freq=100,
        save_freq=400,
        eval_freq=400,
        eval=EvalConfig(n_episodes=10, batch_size=10),
    ),
    tune=TuneConfig(metric="eval/avg_max_reward", mode="max", num_samples=6),
    ties={"policy.n_action_steps": "policy.chunk_size"},  # execute the whole chunk before re-planning
    # The baseline ("default config"): LeRobot's ACT preset (lr 1e-5, kl_weight 10) at the same model size.
    defaults={
        "policy.chunk_size": 20,
        "policy.dim_model": 128,
        "policy.kl_weight": 10.0,
        "policy.n_decoder_layers": 1,
        "optimizer.lr": 1e-5,
    },
)
