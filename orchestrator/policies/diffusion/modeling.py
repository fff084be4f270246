"""Diffusion Policy (Chi et al. 2023, https://arxiv.org/abs/2303.04137), after LeRobot 0.4.4's modeling_diffusion.py.

Module names and parameter shapes follow LeRobot (the backbone's keys are torchvision's, see vision.py), so
parameter counts and most state-dict keys under `diffusion.` compare with it.

    each frame of the last n_obs_steps:  [state, image features (crop -> ResNet trunk -> spatial softmax), env state]
    global condition = those vectors, concatenated over the frames
    training: actions (B, horizon, A) + noise at a random timestep t -> U-Net(x_t, t, condition) ~ noise (or actions)
    acting:   pure noise -> num_inference_steps denoising steps -> horizon actions; run n_action_steps of them,
              from the current frame (index n_obs_steps - 1) on
"""

from __future__ import annotations

import math
from collections import deque
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from orchestrator.configs.features import FeatureType
from orchestrator.errors import Problem, problem
from orchestrator.policies.base import Policy
from orchestrator.policies.diffusion.configuration import DiffusionConfig
from orchestrator.policies.diffusion.schedulers import make_noise_scheduler
from orchestrator.policies.vision import load_backbone_weights, resnet18, trunk


class DiffusionPolicy(Policy[DiffusionConfig]):
    """Diffusion Policy with the 1-D conditional U-Net, trained with MSE on the predicted noise (or sample).

    Training batches hold each observation as (B, n_obs_steps, *shape) (with n_obs_steps = 1 the dataset gives
    (B, *shape), which is fine) and "action" (B, horizon, A). `select_action` keeps the observation history itself.
    """

    config_class = DiffusionConfig
    name = "diffusion"
    accepts_images = True

    def __init__(self, config: DiffusionConfig, stats: dict[str, dict] | None = None):
        super().__init__(config, stats)
        self.diffusion = DiffusionModel(config)
        if stats is not None:  # a new policy; a saved one (stats=None) has its backbone in its own weights
            for encoder in self.diffusion.rgb_encoders():
                load_backbone_weights(
                    encoder.backbone, config.pretrained_backbone_weights, "policy.pretrained_backbone_weights"
                )
        self._observation_queue: deque[dict[str, Tensor]] = deque(maxlen=config.n_obs_steps)

    @classmethod
    def feature_problems(cls, config: DiffusionConfig) -> list[Problem]:
        """The base rules, plus: an image or an env state to condition on; RGB images of one shape that fit the crop
        and leave the backbone's feature map more than one pixel."""
        out = super().feature_problems(config)
        images = {k: f for k, f in sorted(config.input_features.items()) if f.type == FeatureType.VISUAL}
        if not images and not any(f.type == FeatureType.ENV for f in config.input_features.values()):
            out.append(
                problem(
                    "policy.input_features",
                    "Diffusion Policy needs at least one camera (VISUAL feature) "
                    "or observation.environment_state to condition on",
                    sorted(config.input_features),
                )
            )
        if out or not images:
            return out
        (first_key, first), *others = images.items()
        for key, feature in others:
            if feature.shape != first.shape:
                out.append(
                    problem(
                        f"policy.input_features[{key}]",
                        f"every camera must have one shape: {first_key} has {tuple(first.shape)}",
                        tuple(feature.shape),
                    )
                )
        if first.shape[0] != 3:
            out.append(
                problem(
                    f"policy.input_features[{first_key}]",
                    "the ResNet backbone takes RGB images: must have 3 channels",
                    tuple(first.shape),
                )
            )
        crop, size = config.image_crop_shape, tuple(config.resize_shape or first.shape[1:])
        if crop is not None and config.resize_shape is None and (crop[0] > size[0] or crop[1] > size[1]):
            out.append(
                problem(
                    "policy.crop_shape",
                    f"must fit inside the images: policy.input_features[{first_key}] "
                    f"is {size[0]}x{size[1]} (height x width)",
                    tuple(crop),
                )
            )
        elif max(crop or size) <= 32:  # ResNet-18 maps H x W to ceil(H/32) x ceil(W/32)
            field = (
                "policy.crop_shape"
                if crop and config.resize_shape is None
                else ("policy.resize_shape" if config.resize_shape else f"policy.input_features[{first_key}]")
            )
            out.append(
                problem(
                    field,
                    "gives a 1x1 ResNet feature map, where the spatial softmax is constant and the "
                    "image encoder learns nothing: images (after the resize and crop) must exceed 32 "
                    "pixels in height or width",
                    tuple(crop or config.resize_shape or first.shape),
                )
            )
        return out

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Mean squared error of the U-Net's prediction; with do_mask_loss_for_padding, the errors of padded actions
        are zeroed (and the mean still taken over every element, as LeRobot does)."""
        actions = self.normalizer.normalize("action", batch["action"])
        if actions.shape[1] != self.config.horizon:
            raise ValueError(
                f"batch['action'] holds {actions.shape[1]} steps; policy.horizon is "
                f"{self.config.horizon}: load the dataset with the config's delta_timestamps"
            )
        loss = self.diffusion.compute_loss(self._observations(batch), actions)  # (B, horizon, A)
        if self.config.do_mask_loss_for_padding:
            loss = loss * ~batch["action_is_pad"].unsqueeze(-1)
        loss = loss.mean()
        return loss, {"mse_loss": loss.item()}

    @torch.no_grad()
    def predict_action_chunk(self, observation: dict[str, Tensor]) -> Tensor:
        """RAW actions (B, n_action_steps, A) from the current frame on, for RAW observations (B, n_obs_steps, *shape).

        An observation without the time axis, (B, *shape), stands for every frame of the window.
        """
        actions = self.diffusion.generate_actions(self._observations(observation))
        start = self.config.n_obs_steps - 1
        return self.normalizer.unnormalize("action", actions[:, start : start + self.config.n_action_steps])

    def reset(self) -> None:
        """Forget queued actions and the observation history: call it when the envs reset."""
        super().reset()
        self._observation_queue.clear()

    @torch.no_grad()
    def select_action(self, observation: dict[str, Tensor]) -> Tensor:
        """The next RAW action (B, A) for B envs, from frames (B, *shape).

        Every call appends the frame to the history of the last n_obs_steps frames (after a reset the first frame
        fills it, as LeRobot's populate_queues); when the action queue is empty the model is run on the history.
        """
        frame = {k: observation[k] for k in self.config.input_features}
        while len(self._observation_queue) < self.config.n_obs_steps - 1:
            self._observation_queue.append(frame)
        self._observation_queue.append(frame)
        history = {k: torch.stack([f[k] for f in self._observation_queue], dim=1) for k in frame}
        return super().select_action(history)

    def _observations(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Normalized input features, each (B, n_obs_steps, *shape)."""
        out = {}
        for key, feature in self.config.input_features.items():
            x = self.normalizer.normalize(key, batch[key].float())
            if x.dim() == len(feature.shape) + 1:  # a single frame: repeat it over the window
                x = x.unsqueeze(1).expand(-1, self.config.n_obs_steps, *feature.shape)
            if x.shape[1] != self.config.n_obs_steps:
                raise ValueError(f"{key} holds {x.shape[1]} frames; policy.n_obs_steps is {self.config.n_obs_steps}")
            out[key] = x
        return out


class DiffusionModel(nn.Module):
    """Observation encoders, the U-Net and the noise scheduler, on normalized tensors."""

    def __init__(self, config: DiffusionConfig):
        super().__init__()
        self.config = config
        features = config.input_features
        self.state_keys = sorted(k for k, f in features.items() if f.type == FeatureType.STATE)
        self.image_keys = sorted(k for k, f in features.items() if f.type == FeatureType.VISUAL)
        self.env_keys = sorted(k for k, f in features.items() if f.type == FeatureType.ENV)
        self.action_dim = config.output_features["action"].shape[0]

        cond_dim = sum(features[k].shape[0] for k in self.state_keys + self.env_keys)
        self.rgb_encoder: nn.ModuleList | RgbEncoder
        if self.image_keys:
            image_shape = tuple(features[self.image_keys[0]].shape)
            if config.use_separate_rgb_encoder_per_camera:
                self.rgb_encoder = nn.ModuleList([RgbEncoder(config, image_shape) for _ in self.image_keys])
            else:
                self.rgb_encoder = RgbEncoder(config, image_shape)
            cond_dim += self.rgb_encoders()[0].feature_dim * len(self.image_keys)
        self.unet = ConditionalUnet1d(config, self.action_dim, global_cond_dim=cond_dim * config.n_obs_steps)

        self.noise_scheduler = make_noise_scheduler(
            config.noise_scheduler_type,
            num_train_timesteps=config.num_train_timesteps,
            beta_schedule=config.beta_schedule,
            beta_start=config.beta_start,
            beta_end=config.beta_end,
            prediction_type=config.prediction_type,
            clip_sample=config.clip_sample,
            clip_sample_range=config.clip_sample_range,
        )
        self.noise_scheduler.set_timesteps(config.num_inference_steps or config.num_train_timesteps)

    def rgb_encoders(self) -> list[RgbEncoder]:
        if not self.image_keys:
            return []
        if isinstance(self.rgb_encoder, nn.ModuleList):  # use_separate_rgb_encoder_per_camera: one per camera
            return [cast(RgbEncoder, encoder) for encoder in self.rgb_encoder]
        return [self.rgb_encoder]

    def global_condition(self, obs: dict[str, Tensor]) -> Tensor:
        """(B, n_obs_steps * per-frame dim): per frame [states, image features, env states], frames concatenated."""
        batch_size, n_frames = next(iter(obs.values())).shape[:2]
        per_frame = [obs[k] for k in self.state_keys]
        if self.image_keys:
            images = torch.stack([obs[k] for k in self.image_keys], dim=2)  # (B, S, cameras, C, H, W)
            if self.config.use_separate_rgb_encoder_per_camera:
                features = torch.cat(
                    [encoder(images[:, :, i].flatten(0, 1)) for i, encoder in enumerate(self.rgb_encoders())], dim=-1
                )
            else:
                features = self.rgb_encoder(images.flatten(0, 2))  # one shared encoder for every camera
            per_frame.append(features.reshape(batch_size, n_frames, -1))
        per_frame += [obs[k] for k in self.env_keys]
        return torch.cat(per_frame, dim=-1).flatten(1)

    def compute_loss(self, obs: dict[str, Tensor], actions: Tensor) -> Tensor:
        """Unreduced squared error (B, horizon, A) of the U-Net on `actions` noised at random timesteps."""
        cond = self.global_condition(obs)
        noise = torch.randn_like(actions)
        timesteps = torch.randint(0, self.config.num_train_timesteps, (actions.shape[0],), device=actions.device)
        prediction = self.unet(self.noise_scheduler.add_noise(actions, noise, timesteps), timesteps, cond)
        target = noise if self.config.prediction_type == "epsilon" else actions
        return F.mse_loss(prediction, target, reduction="none")

    def generate_actions(self, obs: dict[str, Tensor]) -> Tensor:
        """Normalized actions (B, horizon, A), denoised from Gaussian noise in num_inference_steps steps."""
        cond = self.global_condition(obs)
        sample = torch.randn(cond.shape[0], self.config.horizon, self.action_dim, device=cond.device, dtype=cond.dtype)
        for t in self.noise_scheduler.timesteps.tolist():
            timesteps = torch.full((cond.shape[0],), t, dtype=torch.long, device=cond.device)
            sample = self.noise_scheduler.step(self.unet(sample, timesteps, cond), t, sample)
        return sample


class RgbEncoder(nn.Module):
    """Image (N, C, H, W) -> feature (N, 2 * keypoints): resize, crop, ResNet trunk, spatial softmax, linear + ReLU.

    The resize is bilinear with antialiasing (torchvision's Resize on tensors). The crop is random in training mode
    (one offset for the whole call, as LeRobot's torchvision RandomCrop on a batch) when crop_is_random, and central
    otherwise. The trunk is an indexed nn.Sequential, so its keys are LeRobot's (`backbone.0.weight`, `backbone.4.0...`).
    """

    def __init__(self, config: DiffusionConfig, image_shape: tuple[int, ...]):
        super().__init__()
        self.resize_shape = tuple(config.resize_shape) if config.resize_shape is not None else None
        self.crop_shape = config.image_crop_shape
        self.crop_is_random = config.crop_is_random
        norm_layer = group_norm if config.use_group_norm else nn.BatchNorm2d
        self.backbone = trunk(resnet18(norm_layer=norm_layer), indexed=True)
        height, width = self.crop_shape or self.resize_shape or image_shape[1:]
        with torch.no_grad():  # a dry run, in eval mode so that BatchNorm statistics stay untouched
            feature_map = self.backbone.eval()(torch.zeros(1, image_shape[0], height, width))
            channels, map_height, map_width = feature_map.shape[1:]
        self.backbone.train()
        self.pool = SpatialSoftmax(channels, map_height, map_width, num_keypoints=config.spatial_softmax_num_keypoints)
        self.feature_dim = config.spatial_softmax_num_keypoints * 2
        self.out = nn.Linear(self.feature_dim, self.feature_dim)
        self.relu = nn.ReLU()

    def crop(self, images: Tensor) -> Tensor:
        if self.crop_shape is None:
            return images
        (height, width), (crop_h, crop_w) = images.shape[-2:], self.crop_shape
        if self.training and self.crop_is_random:
            top = int(torch.randint(0, height - crop_h + 1, ()))
            left = int(torch.randint(0, width - crop_w + 1, ()))
        else:  # torchvision's CenterCrop
            top, left = int(round((height - crop_h) / 2)), int(round((width - crop_w) / 2))
        return images[..., top : top + crop_h, left : left + crop_w]

    def resize(self, images: Tensor) -> Tensor:
        if self.resize_shape is None:
            return images
        return F.interpolate(images, size=self.resize_shape, mode="bilinear", align_corners=False, antialias=True)

    def forward(self, images: Tensor) -> Tensor:
        keypoints = self.pool(self.backbone(self.crop(self.resize(images))))
        return self.relu(self.out(keypoints.flatten(1)))


def group_norm(num_channels: int) -> nn.GroupNorm:
    """LeRobot's BatchNorm replacement: groups of 16 channels."""
    return nn.GroupNorm(num_groups=num_channels // 16, num_channels=num_channels)


class SpatialSoftmax(nn.Module):
    """Spatial soft-argmax (Finn et al. 2016, after robomimic): each keypoint is the softmax-weighted mean position.

    Feature maps (N, C, H, W) -> 1x1 conv to K maps -> softmax over the H*W positions -> expected (x, y) in
    [-1, 1]^2 per map: (N, K, 2).
    """

    pos_grid: Tensor  # a buffer, registered in __init__

    def __init__(self, channels: int, height: int, width: int, num_keypoints: int):
        super().__init__()
        self.nets = nn.Conv2d(channels, num_keypoints, kernel_size=1)
        # numpy's linspace, as LeRobot (torch's differs in the last bits, which trained weights notice)
        pos_x, pos_y = np.meshgrid(np.linspace(-1.0, 1.0, width), np.linspace(-1.0, 1.0, height))
        grid = np.stack([pos_x.reshape(-1), pos_y.reshape(-1)], axis=1)
        self.register_buffer("pos_grid", torch.from_numpy(grid).float())  # (H*W, 2)

    def forward(self, features: Tensor) -> Tensor:
        maps = self.nets(features)
        attention = F.softmax(maps.flatten(2), dim=-1)  # (N, K, H*W)
        return attention @ self.pos_grid


class SinusoidalPosEmb(nn.Module):
    """Diffusion timestep (N,) -> (N, dim): [sin(t w_i), cos(t w_i)], w_i = 10000^(-i / (dim/2 - 1))."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t: Tensor) -> Tensor:
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=t.device) * -(math.log(10000) / (half - 1)))
        angles = t.unsqueeze(-1) * freqs.unsqueeze(0)
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


class Conv1dBlock(nn.Module):
    """Conv1d (same length) -> GroupNorm -> Mish."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_groups: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(n_groups, out_channels),
            nn.Mish(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class ConditionalResidualBlock1d(nn.Module):
    """Two Conv1dBlocks with FiLM conditioning between them (per-channel scale and bias, or bias only) and a
    residual connection (1x1 conv when the channel count changes)."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, config: DiffusionConfig):
        super().__init__()
        self.use_film_scale_modulation = config.use_film_scale_modulation
        self.out_channels = out_channels
        self.conv1 = Conv1dBlock(in_channels, out_channels, config.kernel_size, config.n_groups)
        film_channels = 2 * out_channels if config.use_film_scale_modulation else out_channels
        self.cond_encoder = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, film_channels))
        self.conv2 = Conv1dBlock(out_channels, out_channels, config.kernel_size, config.n_groups)
        self.residual_conv = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """x (B, in_channels, T), cond (B, cond_dim) -> (B, out_channels, T)."""
        out = self.conv1(x)
        film = self.cond_encoder(cond).unsqueeze(-1)
        if self.use_film_scale_modulation:
            out = film[:, : self.out_channels] * out + film[:, self.out_channels :]
        else:
            out = out + film
        return self.conv2(out) + self.residual_conv(x)


class ConditionalUnet1d(nn.Module):
    """1-D U-Net over the action sequence, every residual block FiLM-conditioned on [timestep embedding, global cond].

    With L = len(down_dims) levels the encoder halves the sequence L - 1 times and the decoder doubles it L - 1
    times, each decoder level taking the skip of the encoder level at its resolution (as the original, whose
    decoder `is_last` test never holds: the first encoder level's skip is not used).
    """

    def __init__(self, config: DiffusionConfig, action_dim: int, global_cond_dim: int):
        super().__init__()
        embed_dim = config.diffusion_step_embed_dim
        self.diffusion_step_encoder = nn.Sequential(
            SinusoidalPosEmb(embed_dim),
            nn.Linear(embed_dim, embed_dim * 4),
            nn.Mish(),
            nn.Linear(embed_dim * 4, embed_dim),
        )
        cond_dim = embed_dim + global_cond_dim
        dims = list(config.down_dims)
        in_out = list(zip([action_dim, *dims[:-1]], dims))  # (in, out) channels of each encoder level

        def block(dim_in: int, dim_out: int) -> ConditionalResidualBlock1d:
            return ConditionalResidualBlock1d(dim_in, dim_out, cond_dim, config)

        self.down_modules = nn.ModuleList(
            [
                nn.ModuleList(
                    [
                        block(dim_in, dim_out),
                        block(dim_out, dim_out),
                        nn.Conv1d(dim_out, dim_out, 3, 2, 1) if level < len(in_out) - 1 else nn.Identity(),
                    ]
                )
                for level, (dim_in, dim_out) in enumerate(in_out)
            ]
        )
        self.mid_modules = nn.ModuleList([block(dims[-1], dims[-1]), block(dims[-1], dims[-1])])
        self.up_modules = nn.ModuleList(
            [
                nn.ModuleList(
                    [block(dim_in * 2, dim_out), block(dim_out, dim_out), nn.ConvTranspose1d(dim_out, dim_out, 4, 2, 1)]
                )
                for dim_out, dim_in in reversed(in_out[1:])
            ]
        )
        self.final_conv = nn.Sequential(
            Conv1dBlock(dims[0], dims[0], config.kernel_size, config.n_groups),
            nn.Conv1d(dims[0], action_dim, 1),
        )

    def forward(self, x: Tensor, timesteps: Tensor, global_cond: Tensor) -> Tensor:
        """x (B, T, action_dim), timesteps (B,), global_cond (B, global_cond_dim) -> (B, T, action_dim)."""
        cond = torch.cat([self.diffusion_step_encoder(timesteps), global_cond], dim=-1)
        x = x.transpose(1, 2)  # convolutions run over time: (B, channels, T)
        skips = []
        for level in self.down_modules:
            resnet, resnet2, downsample = cast(nn.ModuleList, level)  # each level: two blocks, then a resampling
            x = resnet2(resnet(x, cond), cond)
            skips.append(x)
            x = downsample(x)
        for resnet in self.mid_modules:
            x = resnet(x, cond)
        for level in self.up_modules:
            resnet, resnet2, upsample = cast(nn.ModuleList, level)
            x = torch.cat([x, skips.pop()], dim=1)
            x = upsample(resnet2(resnet(x, cond), cond))
        return self.final_conv(x).transpose(1, 2)
