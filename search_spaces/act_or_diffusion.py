"""ACT or Diffusion Policy on PushT keypoints: which policy type, and which settings of each, a conditional space.

    python -m orchestrator sweep search_spaces/act_or_diffusion.py --dry-run
    python -m orchestrator sweep search_spaces/act_or_diffusion.py [--tune.repeats=2]

`policy=tune.choice([ACTConfig(...), DiffusionConfig(...)])` searches `policy.type` and, under each type, its own
sub-space: the trials, the report and the live table name those fields `policy.act.dim_model`,
`policy.diffusion.horizon`, ... (each is sampled only when its type is). Fixed values of a type (ACT's small
transformer, Diffusion's small U-Net) apply whenever that type is sampled. `--policy.type=act` on the command line
searches ACT's sub-space alone.

The constraints are predicates on the sampled, typed config: a sample that breaks one is not trained; it is
reported as infeasible (to Optuna too, which learns to avoid it). `--dry-run` samples the space and prints how many
samples pass each constraint.

Both policies are scaled down for a laptop CPU; as in act.py, a CPU-minutes budget rarely reaches success on
PushT, so the sweep optimizes the average max reward.
"""

from ray import tune

from orchestrator.configs.features import NormalizationMode
from orchestrator.configs.train import EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.diffusion.configuration import DiffusionConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        policy=tune.choice(
            [
                ACTConfig(
                    chunk_size=tune.choice([10, 20]),
                    n_action_steps=tune.choice([5, 10, 20]),
                    dim_model=tune.choice([64, 128]),
                    n_heads=4,
                    dim_feedforward=256,
                    n_encoder_layers=2,
                    n_decoder_layers=1,
                    n_vae_encoder_layers=2,
                    latent_dim=16,
                    kl_weight=tune.loguniform(1.0, 30.0),
                    # PushT's keypoints are pixel coordinates (0..512): normalize them too
                    normalization_mapping={
                        "STATE": NormalizationMode.MEAN_STD,
                        "ENV": NormalizationMode.MEAN_STD,
                        "ACTION": NormalizationMode.MEAN_STD,
                    },
                ),
                DiffusionConfig(
                    n_obs_steps=2,
                    horizon=tune.choice([8, 16]),
                    n_action_steps=tune.choice([4, 8]),
                    down_dims=(64, 128),
                    diffusion_step_embed_dim=64,
                    noise_scheduler_type="DDIM",
                    num_inference_steps=10,
                ),
            ]
        ),
        steps=1200,
        batch_size=64,
        log_freq=100,
        save_freq=400,
        eval_freq=400,
        eval=EvalConfig(n_episodes=10, batch_size=10),
    ),
    tune=TuneConfig(metric="eval/avg_max_reward", mode="max", num_samples=8),
    constraints={
        # ACT executes at most one chunk before re-planning
        "act: n_action_steps <= chunk_size": lambda cfg: (
            cfg.policy.type != "act" or cfg.policy.n_action_steps <= cfg.policy.chunk_size
        ),
        # Diffusion's executed steps fit in its predicted horizon after the observation steps
        "diffusion: n_action_steps <= horizon - n_obs_steps + 1": lambda cfg: (
            cfg.policy.type != "diffusion"
            or cfg.policy.n_action_steps <= cfg.policy.horizon - cfg.policy.n_obs_steps + 1
        ),
    },
    # The baseline ("default config"): the first type (ACT), at these values.
    defaults={"policy.chunk_size": 20, "policy.n_action_steps": 20, "policy.dim_model": 128, "policy.kl_weight": 10.0},
)
