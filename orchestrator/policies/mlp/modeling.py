"""The MLP baseline: normalized state features, concatenated -> MLP -> a chunk of actions, trained with L1."""

from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from orchestrator.policies.base import Policy
from orchestrator.policies.mlp.configuration import MLPConfig


class MLPPolicy(Policy[MLPConfig]):
    """Behaviour cloning with an MLP that regresses chunk_size future actions at once.

    With n_obs_steps > 1 the input is the last n_obs_steps frames of every feature: training batches hold them as
    (B, n_obs_steps, dim); `select_action` keeps the history itself (the first frame repeated after a reset).
    """

    config_class = MLPConfig
    name = "mlp"

    def __init__(self, config: MLPConfig, stats: dict[str, dict] | None = None):
        super().__init__(config, stats)
        self.input_keys = sorted(config.input_features)
        width = config.n_obs_steps * sum(config.input_features[k].shape[0] for k in self.input_keys)
        layers: list[nn.Module] = []
        for hidden in config.hidden_dims:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(config.dropout)]
            width = hidden
        layers.append(nn.Linear(width, config.chunk_size * self.action_dim))
        self.model = nn.Sequential(*layers)
        self._observation_history: deque[dict[str, Tensor]] = deque(maxlen=config.n_obs_steps)

    def _predict_normalized(self, batch: dict[str, Tensor]) -> Tensor:
        """Normalized inputs -> normalized actions (B, chunk_size, action_dim)."""
        x = torch.cat([batch[k].flatten(1) for k in self.input_keys], dim=-1)
        return self.model(x).unflatten(-1, (self.config.chunk_size, self.action_dim))

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Mean L1 between predicted and normalized target actions, padded steps masked out."""
        batch = self.normalizer(batch)
        actions_hat = self._predict_normalized(batch)
        not_pad = ~batch["action_is_pad"].unsqueeze(-1)
        l1_loss = (F.l1_loss(actions_hat, batch["action"], reduction="none") * not_pad).mean()
        return l1_loss, {"l1_loss": l1_loss.item()}

    @torch.no_grad()
    def predict_action_chunk(self, observation: dict[str, Tensor]) -> Tensor:
        """RAW actions for RAW observations, (B, dim) or, with n_obs_steps > 1, (B, n_obs_steps, dim)."""
        actions = self._predict_normalized(self.normalizer(observation))
        return self.normalizer.unnormalize("action", actions)

    def reset(self) -> None:
        super().reset()
        self._observation_history.clear()

    @torch.no_grad()
    def select_action(self, observation: dict[str, Tensor]) -> Tensor:
        """Like Policy.select_action; with n_obs_steps > 1 the model sees the last n_obs_steps observations."""
        if self.config.n_obs_steps == 1:
            return super().select_action(observation)
        observation = {k: observation[k] for k in self.input_keys}
        while len(self._observation_history) < self.config.n_obs_steps - 1:
            self._observation_history.append(observation)
        self._observation_history.append(observation)
        stacked = {k: torch.stack([frame[k] for frame in self._observation_history], dim=1) for k in self.input_keys}
        return super().select_action(stacked)
