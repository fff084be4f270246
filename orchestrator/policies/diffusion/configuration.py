"""Diffusion Policy (Chi et al. 2023, "Diffusion Policy: Visuomotor Policy Learning via Action Diffusion").

Defaults are LeRobot 0.4.4's (PushT: one 96x96 camera + the agent's 2-D position): a ResNet-18 image encoder
trained from scratch with GroupNorm, a 1-D conditional U-Net, DDPM with 100 steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.configs.checks import in_range, non_negative, one_of, positive
from orchestrator.configs.features import NormalizationMode
from orchestrator.configs.optim import AdamConfig, ConstantSchedulerConfig, CosineDecayWithWarmupConfig, SchedulerConfig
from orchestrator.configs.policy import PolicyConfig
from orchestrator.errors import Problem, problem
from orchestrator.policies.act.configuration import backbone_weights_problems

VISION_BACKBONES = ["resnet18"]
NOISE_SCHEDULERS = ["DDPM", "DDIM"]
BETA_SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2"]
PREDICTION_TYPES = ["epsilon", "sample"]
SCHEDULER_NAMES = ["cosine", "constant"]  # of diffusers' get_scheduler names, the ones built here


@PolicyConfig.register_subclass("diffusion")
@dataclass
class DiffusionConfig(PolicyConfig):
    """A denoising-diffusion model of `horizon` actions, conditioned on the last `n_obs_steps` observations.

    Inputs: one or more cameras (observation.image or observation.images.<name>, all of one shape) and/or
    observation.environment_state; observation.state is used when present. Output: one 1-D "action".
    """

    # Observation and action windows: LeRobot <= 0.5 defaults. LeRobot 0.6 changed horizon 16 -> 64 (and
    # n_action_steps 8 -> 32, and its image-encoder defaults).
    n_obs_steps: int = 2  # observation frames the policy is conditioned on (the current one and the previous ones)
    horizon: int = 16  # actions generated per denoising run, starting at the oldest observed frame
    n_action_steps: int = 8  # actions executed per run, from the current frame on (<= horizon - n_obs_steps + 1)
    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.MEAN_STD,
            "STATE": NormalizationMode.MIN_MAX,
            "ACTION": NormalizationMode.MIN_MAX,
        }
    )  # per feature type, LeRobot's (ENV unmapped: not normalized); ACTION MIN_MAX suits clip_sample's [-1, 1]
    drop_n_last_frames: int = 7  # training never samples an episode's last frames (LeRobot's EpisodeAwareSampler)

    # Image encoder.
    vision_backbone: str = "resnet18"  # ResNet trunk (without its average pool and classifier) of each image
    resize_shape: tuple[int, int] | None = None  # (H, W) every image is resized to first (bilinear); None: no resize
    crop_ratio: float = 1.0  # with resize_shape: crop this fraction of it (1.0: no crop); crop_shape is then ignored
    crop_shape: tuple[int, int] | None = None  # (H, W) crop of every image before the backbone; None: no crop
    crop_is_random: bool = True  # random crop when training (one offset per batch), centre crop when evaluating
    # Local safetensors file of ResNet weights converted from torchvision (see orchestrator/policies/vision.py),
    # loaded when a policy is built for training; None: random init (LeRobot's PushT default).
    pretrained_backbone_weights: str | None = None
    use_group_norm: bool = True  # GroupNorm (channels // 16 groups) instead of BatchNorm in the backbone
    spatial_softmax_num_keypoints: int = 32  # keypoints of the spatial-softmax pooling; image feature = 2x this
    use_separate_rgb_encoder_per_camera: bool = False  # one encoder per camera instead of one shared encoder

    # Conditional 1-D U-Net over the action sequence.
    down_dims: tuple[int, ...] = (512, 1024, 2048)  # channels of each U-Net level; the sequence halves between levels
    kernel_size: int = 5  # temporal kernel of the U-Net's convolutions
    n_groups: int = 8  # GroupNorm groups in the U-Net's convolution blocks (must divide every down_dims entry)
    diffusion_step_embed_dim: int = 128  # size of the diffusion-step embedding (even)
    use_film_scale_modulation: bool = True  # FiLM conditioning modulates scale and bias (False: bias only)

    # Noise schedule.
    noise_scheduler_type: str = "DDPM"  # sampler: DDPM (stochastic) or DDIM (deterministic, allows few steps)
    num_train_timesteps: int = 100  # diffusion steps of the forward (noising) process
    beta_schedule: str = "squaredcos_cap_v2"  # betas: squaredcos_cap_v2 (cosine), linear or scaled_linear
    beta_start: float = 0.0001  # first beta of the linear and scaled_linear schedules
    beta_end: float = 0.02  # last beta of the linear and scaled_linear schedules
    prediction_type: str = "epsilon"  # what the U-Net predicts: the noise (epsilon) or the clean actions (sample)
    clip_sample: bool = True  # clip each denoising step's clean-action estimate to +-clip_sample_range
    clip_sample_range: float = 1.0  # magnitude of that clipping (normalized action units)
    num_inference_steps: int | None = None  # denoising steps when acting; None: num_train_timesteps

    # Optimization (LeRobot's torch.compile of the U-Net is not supported here).
    compile_model: bool = False  # LeRobot's: compile the U-Net with torch.compile (must be false here)
    compile_mode: str = "reduce-overhead"  # LeRobot's: torch.compile mode (unused here)

    # Loss.
    do_mask_loss_for_padding: bool = False  # leave actions past an episode's end out of the loss (original: no)

    # Training preset (LeRobot's).
    optimizer_lr: float = 1e-4  # preset: Adam learning rate
    optimizer_betas: tuple[float, float] = (0.95, 0.999)  # preset: Adam betas
    optimizer_eps: float = 1e-8  # preset: Adam epsilon
    optimizer_weight_decay: float = 1e-6  # preset: Adam (L2) weight decay
    scheduler_name: str = "cosine"  # preset schedule, diffusers' name: cosine (warm-up, then cosine decay) or constant
    scheduler_warmup_steps: int = 500  # preset: linear warm-up steps before the cosine decay

    def problems(self) -> list[Problem]:
        out = super().problems()
        for name in (
            "horizon",
            "n_action_steps",
            "kernel_size",
            "n_groups",
            "diffusion_step_embed_dim",
            "spatial_softmax_num_keypoints",
            "num_train_timesteps",
            "clip_sample_range",
        ):
            out += positive(name, getattr(self, name))
        out += one_of("vision_backbone", self.vision_backbone, VISION_BACKBONES)
        out += one_of("noise_scheduler_type", self.noise_scheduler_type, NOISE_SCHEDULERS)
        out += one_of("beta_schedule", self.beta_schedule, BETA_SCHEDULES)
        out += one_of("prediction_type", self.prediction_type, PREDICTION_TYPES)
        out += in_range("beta_start", self.beta_start, 0.0, 1.0) + in_range("beta_end", self.beta_end, 0.0, 1.0)
        if not self.down_dims or any(not isinstance(d, int) or d <= 0 for d in self.down_dims):
            out.append(problem("down_dims", "must be a non-empty tuple of positive integers", self.down_dims))
        if self.crop_shape is not None and (len(self.crop_shape) != 2 or min(self.crop_shape) <= 0):
            out.append(problem("crop_shape", "must be None or (height, width), both > 0", self.crop_shape))
        if self.resize_shape is not None and (len(self.resize_shape) != 2 or min(self.resize_shape) <= 0):
            out.append(problem("resize_shape", "must be None or (height, width), both > 0", self.resize_shape))
        out += in_range("crop_ratio", self.crop_ratio, 0.0, 1.0)
        if self.crop_ratio == 0:
            out.append(problem("crop_ratio", "must be in (0, 1]", self.crop_ratio))
        out += non_negative("drop_n_last_frames", self.drop_n_last_frames)
        out += one_of("scheduler_name", self.scheduler_name, SCHEDULER_NAMES)
        if self.compile_model:
            out.append(
                problem(
                    "compile_model",
                    "torch.compile of the U-Net (LeRobot's option) is not supported here: must be false",
                    self.compile_model,
                )
            )
        if self.num_inference_steps is not None:
            out += positive("num_inference_steps", self.num_inference_steps)
        out += backbone_weights_problems(self.pretrained_backbone_weights, "pretrained_backbone_weights")
        if self.use_group_norm and self.pretrained_backbone_weights:
            out.append(
                problem(
                    "use_group_norm",
                    "must be false with policy.pretrained_backbone_weights: "
                    "replacing BatchNorm would discard the pretrained statistics",
                    self.use_group_norm,
                )
            )
        if out:  # the relations below assume each field is valid on its own
            return out

        factor = 2 ** len(self.down_dims)
        if self.horizon % factor:
            out.append(
                problem(
                    "horizon",
                    f"must be a multiple of 2**len(policy.down_dims) = {factor} "
                    f"(policy.down_dims = {tuple(self.down_dims)})",
                    self.horizon,
                )
            )
        if self.n_action_steps > self.horizon - self.n_obs_steps + 1:
            out.append(
                problem(
                    "n_action_steps",
                    "must be <= policy.horizon - policy.n_obs_steps + 1 "
                    f"(= {self.horizon} - {self.n_obs_steps} + 1): actions run from the current frame "
                    "to the horizon's end",
                    self.n_action_steps,
                )
            )
        if self.num_inference_steps is not None and self.num_inference_steps > self.num_train_timesteps:
            out.append(
                problem(
                    "num_inference_steps",
                    f"must be <= policy.num_train_timesteps (= {self.num_train_timesteps})",
                    self.num_inference_steps,
                )
            )
        if any(d % self.n_groups for d in self.down_dims):
            out.append(
                problem(
                    "n_groups",
                    f"must divide every entry of policy.down_dims (= {tuple(self.down_dims)})",
                    self.n_groups,
                )
            )
        if self.diffusion_step_embed_dim % 2 or self.diffusion_step_embed_dim < 4:
            out.append(
                problem(
                    "diffusion_step_embed_dim",
                    "must be even and >= 4 (half sines, half cosines)",
                    self.diffusion_step_embed_dim,
                )
            )
        if self.beta_schedule != "squaredcos_cap_v2" and not self.beta_start < self.beta_end:
            out.append(
                problem(
                    "beta_start",
                    f"must be < policy.beta_end (= {self.beta_end}) with policy.beta_schedule = {self.beta_schedule!r}",
                    self.beta_start,
                )
            )
        return out

    def optimizer_preset(self) -> AdamConfig:
        return AdamConfig(
            lr=self.optimizer_lr,
            betas=self.optimizer_betas,
            eps=self.optimizer_eps,
            weight_decay=self.optimizer_weight_decay,
            grad_clip_norm=10.0,
        )

    def scheduler_preset(self) -> SchedulerConfig:
        if self.scheduler_name == "constant":
            return ConstantSchedulerConfig()
        return CosineDecayWithWarmupConfig(num_warmup_steps=self.scheduler_warmup_steps)

    @property
    def image_crop_shape(self) -> tuple[int, ...] | None:
        """The crop applied to images (after the resize), as LeRobot derives it: with resize_shape, crop_ratio of it
        (None when the ratio is 1); without, crop_shape."""
        if self.resize_shape is not None:
            if self.crop_ratio < 1.0:
                return int(self.resize_shape[0] * self.crop_ratio), int(self.resize_shape[1] * self.crop_ratio)
            return None
        return tuple(self.crop_shape) if self.crop_shape is not None else None

    @property
    def action_delta_indices(self) -> list[int]:
        """The horizon starts at the oldest observed frame: n_obs_steps - 1 past actions, then the future."""
        return list(range(1 - self.n_obs_steps, 1 - self.n_obs_steps + self.horizon))
