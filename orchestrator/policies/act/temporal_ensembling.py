"""ACT's temporal ensembling of overlapping action chunks (Algorithm 2 of the ACT paper)."""

from __future__ import annotations

import torch
from torch import Tensor


class TemporalEnsembler:
    """Temporal ensembling (Algorithm 2 of the ACT paper), batched over envs, as LeRobot's ACTTemporalEnsembler.

    Every step a new chunk predicts actions for steps t..t+chunk_size-1. The action executed at step t is the
    weighted mean of every prediction made for t, with weight exp(-coeff * i) for the i-th oldest prediction:
    coeff > 0 favours older predictions, coeff < 0 newer ones, 0 weighs them equally. The mean is kept online.
    """

    def __init__(self, coeff: float, chunk_size: int):
        self.chunk_size = chunk_size
        self.weights = torch.exp(-coeff * torch.arange(chunk_size, dtype=torch.float32))
        self.weights_cumsum = self.weights.cumsum(0)
        self.reset()

    def reset(self) -> None:
        self.means: Tensor | None = None  # (B, n, action_dim): running means for the next n steps
        self.counts: Tensor | None = None  # (n,) how many predictions each running mean holds

    def update(self, chunk: Tensor) -> Tensor:
        """Fold in a (B, chunk_size, action_dim) chunk; return the (B, action_dim) action for this step."""
        weights = self.weights.to(chunk.device)
        weights_cumsum = self.weights_cumsum.to(chunk.device)
        if self.means is None or self.counts is None:  # set together: both None after reset
            self.means = chunk.clone()
            self.counts = torch.ones(self.chunk_size, dtype=torch.long, device=chunk.device)
        else:
            # The previous means cover steps t..t+chunk_size-2; the new chunk adds one prediction to each of
            # them and is the only prediction for step t+chunk_size-1.
            n = self.counts.unsqueeze(-1)
            weighted_sum = self.means * weights_cumsum[n - 1] + chunk[:, :-1] * weights[n]
            self.means = torch.cat([weighted_sum / weights_cumsum[n], chunk[:, -1:]], dim=1)
            self.counts = torch.cat([self.counts + 1, self.counts.new_ones(1)])
        action, self.means, self.counts = self.means[:, 0], self.means[:, 1:], self.counts[1:]
        return action
