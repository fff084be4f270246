"""Optimizer and learning-rate scheduler configs, selected by name (`--optimizer.type=adamw`)."""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import draccus

from orchestrator.configs.checks import in_range, non_negative, positive
from orchestrator.errors import Problem

if TYPE_CHECKING:
    import torch


@dataclass
class OptimizerConfig(draccus.ChoiceRegistry):
    """Base of every optimizer config."""

    lr: float = 1e-4  # learning rate (of the main parameter group)
    weight_decay: float = 0.0  # decoupled (AdamW) or L2 (Adam, SGD) weight decay
    grad_clip_norm: float = 10.0  # clip the global gradient norm to this value; 0 disables clipping

    @property
    def type(self) -> str:
        return self.get_choice_name(self.__class__)

    def problems(self) -> list[Problem]:
        return (
            positive("lr", self.lr)
            + non_negative("weight_decay", self.weight_decay)
            + non_negative("grad_clip_norm", self.grad_clip_norm)
        )

    @abc.abstractmethod
    def build(self, params) -> torch.optim.Optimizer:
        """Build the torch optimizer over `params` (a list of parameter groups)."""


@OptimizerConfig.register_subclass("adamw")
@dataclass
class AdamWConfig(OptimizerConfig):
    """torch.optim.AdamW."""

    weight_decay: float = 1e-2  # decoupled weight decay
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's moment decay rates
    eps: float = 1e-8  # numerical stability term
    fused: bool = True  # one fused kernel per step: same math up to rounding, faster (benchmarks/README.md (d))

    def problems(self) -> list[Problem]:
        return super().problems() + _betas_problems(self.betas) + positive("eps", self.eps)

    def build(self, params) -> torch.optim.Optimizer:
        import torch

        beta1, beta2 = self.betas  # a list when decoded from a file
        return torch.optim.AdamW(
            params, lr=self.lr, betas=(beta1, beta2), eps=self.eps, weight_decay=self.weight_decay, fused=self.fused
        )


@OptimizerConfig.register_subclass("adam")
@dataclass
class AdamConfig(OptimizerConfig):
    """torch.optim.Adam (L2 weight decay)."""

    betas: tuple[float, float] = (0.9, 0.999)  # Adam's moment decay rates
    eps: float = 1e-8  # numerical stability term
    fused: bool = True  # one fused kernel per step: same math up to rounding, faster (benchmarks/README.md (d))

    def problems(self) -> list[Problem]:
        return super().problems() + _betas_problems(self.betas) + positive("eps", self.eps)

    def build(self, params) -> torch.optim.Optimizer:
        import torch

        beta1, beta2 = self.betas  # a list when decoded from a file
        return torch.optim.Adam(
            params, lr=self.lr, betas=(beta1, beta2), eps=self.eps, weight_decay=self.weight_decay, fused=self.fused
        )


@OptimizerConfig.register_subclass("sgd")
@dataclass
class SGDConfig(OptimizerConfig):
    """torch.optim.SGD with momentum."""

    lr: float = 1e-3  # learning rate
    momentum: float = 0.9  # momentum factor

    def problems(self) -> list[Problem]:
        return super().problems() + in_range("momentum", self.momentum, 0.0, 1.0)

    def build(self, params) -> torch.optim.Optimizer:
        import torch

        return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)


def _betas_problems(betas) -> list[Problem]:
    out: list[Problem] = []
    for i, b in enumerate(betas):
        out += in_range(f"betas[{i}]", b, 0.0, 0.999999)
    return out


@dataclass
class SchedulerConfig(draccus.ChoiceRegistry):
    """Base of every learning-rate schedule. A schedule is a multiplier of the optimizer's lr per step."""

    @property
    def type(self) -> str:
        return self.get_choice_name(self.__class__)

    def problems(self) -> list[Problem]:
        return []

    @abc.abstractmethod
    def factor(self, step: int, total_steps: int) -> float:
        """The lr multiplier at `step` of `total_steps`."""

    def build(self, optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
        import torch

        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: self.factor(step, total_steps))


@SchedulerConfig.register_subclass("constant")
@dataclass
class ConstantSchedulerConfig(SchedulerConfig):
    """Keep the learning rate constant (ACT's preset)."""

    def factor(self, step: int, total_steps: int) -> float:
        return 1.0


@SchedulerConfig.register_subclass("cosine_decay_with_warmup")
@dataclass
class CosineDecayWithWarmupConfig(SchedulerConfig):
    """Linear warm-up from 0, then cosine decay to `min_lr_ratio` x lr at the last step (Diffusion Policy's); with
    min_lr_ratio 0 it is diffusers' `get_cosine_schedule_with_warmup`, LeRobot's `diffuser` scheduler named cosine."""

    num_warmup_steps: int = 500  # steps of linear warm-up
    min_lr_ratio: float = 0.0  # final lr as a fraction of the peak lr

    def problems(self) -> list[Problem]:
        return non_negative("num_warmup_steps", self.num_warmup_steps) + in_range(
            "min_lr_ratio", self.min_lr_ratio, 0.0, 1.0
        )

    def factor(self, step: int, total_steps: int) -> float:
        if step < self.num_warmup_steps:
            return step / self.num_warmup_steps
        span = max(1, total_steps - self.num_warmup_steps)
        progress = min(1.0, (step - self.num_warmup_steps) / span)
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
