"""A small MLP behaviour-cloning baseline: concatenated state features -> a chunk of actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.configs.checks import in_range, positive
from orchestrator.configs.optim import AdamConfig, ConstantSchedulerConfig
from orchestrator.configs.policy import PolicyConfig
from orchestrator.errors import Problem, problem


@PolicyConfig.register_subclass("mlp")
@dataclass
class MLPConfig(PolicyConfig):
    """Baseline: an MLP that regresses a chunk of future actions with an L1 loss."""

    hidden_dims: list[int] = field(default_factory=lambda: [256, 256])  # widths of the hidden layers
    chunk_size: int = 10  # actions predicted per forward pass
    n_action_steps: int = 10  # actions executed from each chunk (<= chunk_size)
    dropout: float = 0.0  # dropout after each hidden layer
    optimizer_lr: float = 1e-3  # preset: Adam learning rate

    def problems(self) -> list[Problem]:
        out = (
            super().problems()
            + positive("chunk_size", self.chunk_size)
            + positive("n_action_steps", self.n_action_steps)
        )
        out += in_range("dropout", self.dropout, 0.0, 1.0)
        if not self.hidden_dims:
            out.append(problem("hidden_dims", "must list at least one layer width", self.hidden_dims))
        for i, width in enumerate(self.hidden_dims):
            out += positive(f"hidden_dims[{i}]", width)
        if not out and self.n_action_steps > self.chunk_size:
            out.append(
                problem("n_action_steps", f"must be <= policy.chunk_size (= {self.chunk_size})", self.n_action_steps)
            )
        return out

    def optimizer_preset(self) -> AdamConfig:
        return AdamConfig(lr=self.optimizer_lr, weight_decay=0.0, grad_clip_norm=10.0)

    def scheduler_preset(self) -> ConstantSchedulerConfig:
        return ConstantSchedulerConfig()

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(self.chunk_size))
