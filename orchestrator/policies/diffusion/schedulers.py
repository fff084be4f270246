"""DDPM and DDIM noise schedulers, as the `diffusers` defaults Diffusion Policy uses (no `diffusers` dependency).

Forward process: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, with abar_t = prod_{s<=t} (1 - beta_s), t = 0..T-1.
Sampling visits `num_inference_steps` evenly spaced timesteps ("leading" spacing: 0, k, 2k, ... with k = T // n,
in reverse); each `step` maps x_t to x_{t-k}, the last one to x_0 (abar of a timestep below 0 is 1).
"""

from __future__ import annotations

import abc
import math

import torch
from torch import Tensor


def make_betas(schedule: str, num_train_timesteps: int, beta_start: float, beta_end: float) -> Tensor:
    """The (T,) float32 betas of a named schedule."""
    if schedule == "linear":
        return torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
    if schedule == "scaled_linear":
        return torch.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float32) ** 2
    if schedule == "squaredcos_cap_v2":
        return cosine_betas(num_train_timesteps)
    raise ValueError(f"unknown beta schedule {schedule!r}")


def cosine_betas(num_train_timesteps: int, max_beta: float = 0.999) -> Tensor:
    """Nichol & Dhariwal's cosine schedule: abar(s) = cos((s + 0.008) / 1.008 * pi / 2)^2 for s = t / T,
    beta_t = 1 - abar((t + 1) / T) / abar(t / T), capped at `max_beta`."""

    def alpha_bar(s: float) -> float:
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    n = num_train_timesteps
    return torch.tensor(
        [min(1 - alpha_bar((t + 1) / n) / alpha_bar(t / n), max_beta) for t in range(n)], dtype=torch.float32
    )


class NoiseScheduler(abc.ABC):
    """What DDPM and DDIM share: the schedule, `add_noise`, the inference timesteps and the clean-sample estimate."""

    def __init__(
        self,
        num_train_timesteps: int = 100,
        beta_schedule: str = "squaredcos_cap_v2",
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        prediction_type: str = "epsilon",
        clip_sample: bool = True,
        clip_sample_range: float = 1.0,
    ):
        self.num_train_timesteps = num_train_timesteps
        self.betas = make_betas(beta_schedule, num_train_timesteps, beta_start, beta_end)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self.prediction_type = prediction_type
        self.clip_sample = clip_sample
        self.clip_sample_range = clip_sample_range
        self.set_timesteps(num_train_timesteps)

    def set_timesteps(self, num_inference_steps: int) -> None:
        """Sample with `num_inference_steps` steps: sets `timesteps`, a descending (n,) int64 tensor."""
        if not 1 <= num_inference_steps <= self.num_train_timesteps:
            raise ValueError(f"num_inference_steps must be in [1, {self.num_train_timesteps}]: {num_inference_steps}")
        self.step_ratio = self.num_train_timesteps // num_inference_steps
        self.timesteps = torch.arange(num_inference_steps - 1, -1, -1, dtype=torch.int64) * self.step_ratio

    def add_noise(self, original: Tensor, noise: Tensor, timesteps: Tensor) -> Tensor:
        """x_t for clean `original` (B, ...), `noise` like it and `timesteps` (B,)."""
        alpha_bar = self.alphas_cumprod.to(original.device, original.dtype)[timesteps]
        alpha_bar = alpha_bar.reshape(-1, *[1] * (original.dim() - 1))
        return alpha_bar.sqrt() * original + (1 - alpha_bar).sqrt() * noise

    def _alpha_bars(self, t: int) -> tuple[float, float]:
        """abar at `t` and at the previous inference timestep (1 below 0)."""
        prev_t = t - self.step_ratio
        return float(self.alphas_cumprod[t]), float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else 1.0

    def _clean_and_noise(self, model_output: Tensor, t: int, sample: Tensor) -> tuple[Tensor, Tensor]:
        """(x_0 estimate, clipped when clip_sample; epsilon estimate) from the model's output at `t`."""
        alpha_bar, _ = self._alpha_bars(t)
        if self.prediction_type == "epsilon":
            eps = model_output
            x0 = (sample - (1 - alpha_bar) ** 0.5 * eps) / alpha_bar**0.5
        else:  # "sample"
            x0 = model_output
            eps = (sample - alpha_bar**0.5 * x0) / (1 - alpha_bar) ** 0.5
        if self.clip_sample:
            x0 = x0.clamp(-self.clip_sample_range, self.clip_sample_range)
        return x0, eps

    @abc.abstractmethod
    def step(self, model_output: Tensor, t: int, sample: Tensor) -> Tensor:
        """x_{t-k} from x_t = `sample` and the model's output at timestep `t`."""


class DDPMScheduler(NoiseScheduler):
    """Ho et al. 2020: ancestral sampling from the posterior q(x_{t-k} | x_t, x_0), "fixed_small" variance."""

    def step(self, model_output: Tensor, t: int, sample: Tensor) -> Tensor:
        alpha_bar, alpha_bar_prev = self._alpha_bars(t)
        alpha = alpha_bar / alpha_bar_prev  # of the whole stride t-k -> t
        beta = 1 - alpha
        x0, _ = self._clean_and_noise(model_output, t, sample)
        mean = (alpha_bar_prev**0.5 * beta * x0 + alpha**0.5 * (1 - alpha_bar_prev) * sample) / (1 - alpha_bar)
        if t == 0:
            return mean
        variance = max((1 - alpha_bar_prev) / (1 - alpha_bar) * beta, 1e-20)
        return mean + variance**0.5 * torch.randn_like(sample)


class DDIMScheduler(NoiseScheduler):
    """Song et al. 2021 with eta = 0: deterministic, x_{t-k} = sqrt(abar_{t-k}) x_0 + sqrt(1 - abar_{t-k}) eps."""

    def step(self, model_output: Tensor, t: int, sample: Tensor) -> Tensor:
        _, alpha_bar_prev = self._alpha_bars(t)
        x0, eps = self._clean_and_noise(model_output, t, sample)
        return alpha_bar_prev**0.5 * x0 + (1 - alpha_bar_prev) ** 0.5 * eps


def make_noise_scheduler(kind: str, **kwargs) -> NoiseScheduler:
    """A DDPM or DDIM scheduler; `kwargs` are NoiseScheduler's."""
    return {"DDPM": DDPMScheduler, "DDIM": DDIMScheduler}[kind](**kwargs)
