"""ACT (Zhao et al. 2023, "Learning Fine-Grained Bimanual Manipulation with Low-Cost Hardware"), LeRobot's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.configs.checks import in_range, non_negative, one_of, positive
from orchestrator.configs.features import NormalizationMode
from orchestrator.configs.optim import AdamWConfig, ConstantSchedulerConfig
from orchestrator.configs.policy import PolicyConfig
from orchestrator.errors import Problem, problem


@PolicyConfig.register_subclass("act")
@dataclass
class ACTConfig(PolicyConfig):
    """Action Chunking Transformer: a CVAE whose decoder predicts a chunk of future actions.

    Inputs: STATE and ENV features and any number of cameras (VISUAL), each encoded by a shared ResNet-18.
    """

    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.MEAN_STD,
            "STATE": NormalizationMode.MEAN_STD,
            "ACTION": NormalizationMode.MEAN_STD,
        }
    )  # per feature type, LeRobot's: ENV (observation.environment_state) is not normalized unless you add it
    vision_backbone: str = "resnet18"  # image backbone (torchvision's name); only resnet18 is built here
    # Local safetensors file of backbone weights converted from torchvision (see orchestrator/policies/vision.py);
    # None: random init. LeRobot's default is "ResNet18_Weights.IMAGENET1K_V1", which needs a download.
    pretrained_backbone_weights: str | None = None
    replace_final_stride_with_dilation: bool = False  # dilate layer4 instead of striding: 2x finer feature map
    chunk_size: int = 100  # actions predicted per forward pass (the action chunk)
    n_action_steps: int = 100  # actions executed from each chunk before querying the policy again (<= chunk_size)
    pre_norm: bool = False  # layer norm before (True) or after (False) attention/feed-forward blocks
    dim_model: int = 512  # transformer hidden size
    n_heads: int = 8  # attention heads (must divide dim_model)
    dim_feedforward: int = 3200  # transformer feed-forward width
    feedforward_activation: str = "relu"  # activation of the feed-forward blocks: relu, gelu or glu
    n_encoder_layers: int = 4  # transformer encoder layers
    n_decoder_layers: int = 1  # transformer decoder layers (the original code used 7 but only the first ran)
    use_vae: bool = True  # train with the CVAE objective (latent from an action encoder)
    latent_dim: int = 32  # size of the CVAE latent
    n_vae_encoder_layers: int = 4  # layers of the CVAE action encoder
    temporal_ensemble_coeff: float | None = None  # exponential weight of temporal ensembling; needs n_action_steps=1
    dropout: float = 0.1  # dropout in the transformer layers
    kl_weight: float = 10.0  # weight of the KL term of the CVAE loss
    optimizer_lr: float = 1e-5  # preset: AdamW learning rate
    optimizer_lr_backbone: float = 1e-5  # learning rate of the backbone's parameter group, whatever the optimizer
    optimizer_weight_decay: float = 1e-4  # preset: AdamW weight decay

    def problems(self) -> list[Problem]:
        out = super().problems()
        for name in (
            "chunk_size",
            "n_action_steps",
            "dim_model",
            "n_heads",
            "dim_feedforward",
            "n_encoder_layers",
            "n_decoder_layers",
            "latent_dim",
            "n_vae_encoder_layers",
        ):
            out += positive(name, getattr(self, name))
        out += positive("optimizer_lr_backbone", self.optimizer_lr_backbone)
        out += one_of("vision_backbone", self.vision_backbone, ["resnet18"])
        out += backbone_weights_problems(self.pretrained_backbone_weights, "pretrained_backbone_weights")
        out += in_range("dropout", self.dropout, 0.0, 1.0) + non_negative("kl_weight", self.kl_weight)
        out += one_of("feedforward_activation", self.feedforward_activation, ["relu", "gelu", "glu"])
        if not out and self.n_action_steps > self.chunk_size:
            out.append(
                problem("n_action_steps", f"must be <= policy.chunk_size (= {self.chunk_size})", self.n_action_steps)
            )
        if not out and self.dim_model % self.n_heads:
            out.append(problem("n_heads", f"must divide policy.dim_model (= {self.dim_model})", self.n_heads))
        if self.temporal_ensemble_coeff is not None and self.n_action_steps != 1:
            out.append(
                problem(
                    "n_action_steps",
                    f"must be 1 when policy.temporal_ensemble_coeff is set (= {self.temporal_ensemble_coeff})",
                    self.n_action_steps,
                )
            )
        if self.n_obs_steps != 1:
            out.append(problem("n_obs_steps", "ACT uses the current observation only: must be 1", self.n_obs_steps))
        return out

    def optimizer_preset(self) -> AdamWConfig:
        return AdamWConfig(lr=self.optimizer_lr, weight_decay=self.optimizer_weight_decay, grad_clip_norm=10.0)

    def scheduler_preset(self) -> ConstantSchedulerConfig:
        return ConstantSchedulerConfig()

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(self.chunk_size))


def backbone_weights_problems(path: str | None, field: str) -> list[Problem]:
    """What is wrong with `path` as a backbone weights file; None is fine (random init).

    Torch-free, so that configs can be validated without importing torch; orchestrator/policies/vision.py uses it.
    """
    if path is None or Path(path).is_file():
        return []
    if "_Weights." in path and not Path(path).exists():
        return [
            problem(
                field,
                "names torchvision weights, which cannot be downloaded offline: convert torchvision's "
                "weights to a local safetensors file and pass its path",
                path,
            )
        ]
    return [problem(field, "must be the path of a local safetensors file; there is no such file", path)]
