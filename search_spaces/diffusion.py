"""Diffusion Policy on PushT from pixels (96x96 top-down image + agent position), LeRobot's diffusion setup.

    python -m orchestrator sweep search_spaces/diffusion.py

A normal TrainPipelineConfig whose fields hold Ray Tune distributions. The U-Net is scaled down (LeRobot's is
(512, 1024, 2048): 263M parameters) and sampling uses DDIM with few steps, so that trials run on a laptop CPU;
the ResNet-18 image encoder keeps its size. Scale up by overriding fields, e.g.
`--policy.down_dims=[512,1024,2048] --policy.noise_scheduler_type=DDPM`.

Every combination of the choices below is valid: horizon is a multiple of 2**len(down_dims) = 8 and
n_action_steps <= horizon - n_obs_steps + 1 = 7 at worst. As in act.py, a CPU-minutes budget rarely reaches
success, so the sweep optimizes the average max reward.
"""

from ray import tune

from orchestrator.configs.optim import AdamConfig
from orchestrator.configs.train import DatasetConfig, EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.policies.diffusion.configuration import DiffusionConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(repo_id="local/pusht_pixels_expert"),
        env=PushTEnvConfig(obs_type="pixels_agent_pos"),
        policy=DiffusionConfig(
            n_obs_steps=tune.choice([1, 2]),
            horizon=tune.choice([8, 16]),
            n_action_steps=tune.choice([2, 4, 6]),
            down_dims=tune.choice([(64, 128, 256), (128, 256, 512)]),
            diffusion_step_embed_dim=64,
            crop_shape=(84, 84),  # LeRobot's PushT crop (its 0.4.4 default is None)
            noise_scheduler_type="DDIM",
            num_inference_steps=tune.choice([5, 10, 20]),
        ),
        optimizer=AdamConfig(
            lr=tune.loguniform(5e-5, 1e-3), betas=(0.95, 0.999), weight_decay=1e-6, grad_clip_norm=10.0
        ),  # LeRobot's preset but the lr
        steps=1500,
        batch_size=32,
        log_freq=100,
        save_freq=500,
        eval_freq=500,
        eval=EvalConfig(n_episodes=10, batch_size=10),
    ),
    tune=TuneConfig(metric="eval/avg_max_reward", mode="max", num_samples=6),
    # The baseline ("default config"): LeRobot's windows and learning rate at the same model size.
    defaults={
        "policy.n_obs_steps": 2,
        "policy.horizon": 16,
        "policy.n_action_steps": 8,
        "policy.down_dims": (128, 256, 512),
        "policy.num_inference_steps": 10,
        "optimizer.lr": 1e-4,
    },
)
