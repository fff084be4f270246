"""ACT, the Action Chunking Transformer (Zhao et al. 2023, https://arxiv.org/abs/2304.13705), after LeRobot.

Inputs: robot state (STATE features, concatenated), environment state (ENV features) and any number of cameras
(VISUAL features, e.g. observation.images.top or observation.image). Module names and parameter shapes follow
LeRobot 0.4.4's `modeling_act.py`, so parameter counts and state-dict keys under `model.` can be compared with
it. Tensors are batch-first here: (B, sequence, dim_model).

                 training only                                 training and inference
    [CLS, robot state, action chunk] -> VAE encoder -> mu, log(sigma^2) -> latent (zeros at inference)
    every camera: ResNet-18 trunk (frozen batch norm) -> layer4 map -> 1x1 conv to dim_model -> h*w tokens
    [latent, robot state, env state, *camera tokens] -> encoder -> memory
    chunk_size queries (zeros + learned position) -> decoder (cross-attends to memory) -> action head

The 1-D tokens have learned position embeddings; camera tokens fixed 2-D sinusoidal ones (DETR's).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import chain

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from orchestrator.configs.features import FeatureType
from orchestrator.errors import Problem, problem
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.act.temporal_ensembling import TemporalEnsembler
from orchestrator.policies.base import Policy
from orchestrator.policies.vision import FrozenBatchNorm2d, load_backbone_weights, resnet18, trunk


class ACTPolicy(Policy[ACTConfig]):
    """ACT trained with an L1 loss on the action chunk plus, with `use_vae`, a weighted KL term."""

    config_class = ACTConfig
    name = "act"
    accepts_images = True

    def __init__(self, config: ACTConfig, stats: dict[str, dict] | None = None):
        """With `stats` (a new policy), the backbone starts from `config.pretrained_backbone_weights`; without
        (weights loaded afterwards, as by `from_pretrained`), that file is not read."""
        super().__init__(config, stats)
        self.model = ACT(config)
        if stats is not None and self.model.image_keys:
            load_backbone_weights(
                self.model.backbone, config.pretrained_backbone_weights, "policy.pretrained_backbone_weights"
            )
        self.temporal_ensembler = None
        if config.temporal_ensemble_coeff is not None:
            self.temporal_ensembler = TemporalEnsembler(config.temporal_ensemble_coeff, config.chunk_size)

    @classmethod
    def feature_problems(cls, config: ACTConfig) -> list[Problem]:
        """The base rules, plus (as LeRobot's ACT): a camera or the environment state among the inputs; cameras are
        RGB, large enough for the backbone, and dim_model splits in 4."""
        out = super().feature_problems(config)
        images = {k: f.shape for k, f in config.input_features.items() if f.type == FeatureType.VISUAL}
        if not out and not images and not any(f.type == FeatureType.ENV for f in config.input_features.values()):
            out.append(
                problem(
                    "policy.input_features",
                    "ACT needs a camera (VISUAL feature) or "
                    "observation.environment_state among its inputs, as LeRobot's ACT (which refuses to "
                    "load it otherwise): use a dataset with either, or another policy (e.g. mlp)",
                    sorted(config.input_features),
                )
            )
        if out or not images:
            return out
        stride = 16 if config.replace_final_stride_with_dilation else 32
        for key, (channels, height, width) in images.items():
            field = f"policy.input_features[{key}]"
            if channels != 3:
                out.append(
                    problem(
                        field,
                        f"policy.vision_backbone (= {config.vision_backbone}) takes RGB images: must have 3 channels",
                        images[key],
                    )
                )
            if min(height, width) < stride:
                out.append(
                    problem(
                        field,
                        f"is smaller than policy.vision_backbone (= {config.vision_backbone}) can "
                        f"use: height and width must be >= {stride}, its output stride (with "
                        f"policy.replace_final_stride_with_dilation = "
                        f"{config.replace_final_stride_with_dilation})",
                        images[key],
                    )
                )
        if config.dim_model % 4:
            out.append(
                problem(
                    "policy.dim_model",
                    f"must be a multiple of 4 with cameras ({', '.join(images)} in "
                    "policy.input_features): their 2-D sinusoidal position embeddings split it in 4",
                    config.dim_model,
                )
            )
        return out

    def optim_param_groups(self) -> list[dict]:
        """As LeRobot: the backbone in its own group at `optimizer_lr_backbone`, the rest at the optimizer's lr."""
        groups: dict[bool, list[nn.Parameter]] = {True: [], False: []}
        for name, param in self.named_parameters():
            if param.requires_grad:
                groups[name.startswith("model.backbone.")].append(param)
        backbone = [{"params": groups[True], "lr": self.config.optimizer_lr_backbone}] if groups[True] else []
        return [{"params": groups[False]}, *backbone]

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """L1 on normalized actions (padded steps masked), + kl_weight * KL when the VAE encoder ran.

        The VAE encoder runs in training mode only: in eval mode the latent is zero, as at inference, and the
        loss is the L1 term alone.
        """
        batch = self.normalizer(batch)
        actions_hat, (mu, log_sigma_x2) = self.model(batch)
        not_pad = ~batch["action_is_pad"].unsqueeze(-1)
        l1_loss = (F.l1_loss(actions_hat, batch["action"], reduction="none") * not_pad).mean()
        if mu is None:
            return l1_loss, {"l1_loss": l1_loss.item()}
        # KL(N(mu, sigma^2) || N(0, 1)): summed over the latent dimensions, averaged over the batch.
        kld_loss = (-0.5 * (1 + log_sigma_x2 - mu.pow(2) - log_sigma_x2.exp())).sum(-1).mean()
        loss = l1_loss + self.config.kl_weight * kld_loss
        return loss, {"l1_loss": l1_loss.item(), "kld_loss": kld_loss.item()}

    @torch.no_grad()
    def predict_action_chunk(self, observation: dict[str, Tensor]) -> Tensor:
        actions = self.model(self.normalizer(observation))[0]
        return self.normalizer.unnormalize("action", actions)

    def reset(self) -> None:
        super().reset()
        if self.temporal_ensembler is not None:
            self.temporal_ensembler.reset()

    @torch.no_grad()
    def select_action(self, observation: dict[str, Tensor]) -> Tensor:
        """With temporal ensembling, query every step and average the chunks' actions for this step."""
        if self.temporal_ensembler is None:
            return super().select_action(observation)
        self.eval()
        return self.temporal_ensembler.update(self.predict_action_chunk(observation))


class ACT(nn.Module):
    """The network: CVAE action encoder (training only) + transformer encoder-decoder + action head."""

    def __init__(self, config: ACTConfig):
        super().__init__()
        self.config = config
        self.robot_state_keys = sorted(k for k, f in config.input_features.items() if f.type == FeatureType.STATE)
        self.env_state_keys = sorted(k for k, f in config.input_features.items() if f.type == FeatureType.ENV)
        self.image_keys = sorted(k for k, f in config.input_features.items() if f.type == FeatureType.VISUAL)
        robot_state_dim = sum(config.input_features[k].shape[0] for k in self.robot_state_keys)
        env_state_dim = sum(config.input_features[k].shape[0] for k in self.env_state_keys)
        action_dim = config.output_features["action"].shape[0]

        if config.use_vae:
            # BERT-like encoder over [cls, robot state, *action chunk]; the cls output gives the latent's
            # parameters [*mu, *log(sigma^2)].
            self.vae_encoder = ACTEncoder(config, is_vae_encoder=True)
            self.vae_encoder_cls_embed = nn.Embedding(1, config.dim_model)
            if robot_state_dim:
                self.vae_encoder_robot_state_input_proj = nn.Linear(robot_state_dim, config.dim_model)
            self.vae_encoder_action_input_proj = nn.Linear(action_dim, config.dim_model)
            self.vae_encoder_latent_output_proj = nn.Linear(config.dim_model, config.latent_dim * 2)
            n_vae_tokens = 1 + bool(robot_state_dim) + config.chunk_size
            self.register_buffer(
                "vae_encoder_pos_enc", sinusoidal_position_embedding(n_vae_tokens, config.dim_model).unsqueeze(0)
            )

        if self.image_keys:
            # layer4's feature map, shared by every camera; LeRobot keeps no avgpool or fc either.
            resnet = resnet18(
                replace_stride_with_dilation=(False, False, config.replace_final_stride_with_dilation),
                norm_layer=FrozenBatchNorm2d,
            )
            self.backbone = trunk(resnet)

        self.encoder = ACTEncoder(config)
        self.decoder = ACTDecoder(config)

        # Encoder tokens: [latent, (robot state), (env state)], each with a learned position embedding.
        if robot_state_dim:
            self.encoder_robot_state_input_proj = nn.Linear(robot_state_dim, config.dim_model)
        if env_state_dim:
            self.encoder_env_state_input_proj = nn.Linear(env_state_dim, config.dim_model)
        self.encoder_latent_input_proj = nn.Linear(config.latent_dim, config.dim_model)
        n_1d_tokens = 1 + bool(robot_state_dim) + bool(env_state_dim)
        self.encoder_1d_feature_pos_embed = nn.Embedding(n_1d_tokens, config.dim_model)
        # Camera tokens: one per layer4 cell, projected to dim_model, with a fixed 2-D position embedding.
        if self.image_keys:
            self.encoder_img_feat_input_proj = nn.Conv2d(resnet.fc.in_features, config.dim_model, kernel_size=1)
            self.encoder_cam_feat_pos_embed = SinusoidalPositionEmbedding2d(config.dim_model // 2)

        # Decoder queries: one learned position per action of the chunk (DETR-style object queries).
        self.decoder_pos_embed = nn.Embedding(config.chunk_size, config.dim_model)
        self.action_head = nn.Linear(config.dim_model, action_dim)

        for p in chain(self.encoder.parameters(), self.decoder.parameters()):
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)  # as the original code

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor] | tuple[None, None]]:
        """Normalized batch -> (normalized actions (B, chunk_size, action_dim), (mu, log(sigma^2)) or Nones).

        The VAE encoder runs when `use_vae` and in training mode, and then needs "action" and "action_is_pad".
        Images are (B, 3, H, W), normalized.
        """
        robot_state = self._concat(batch, self.robot_state_keys)
        env_state = self._concat(batch, self.env_state_keys)
        images = [batch[k] for k in self.image_keys]
        reference = next(x for x in (robot_state, env_state, *images) if x is not None)
        batch_size = reference.shape[0]

        latent_stats: tuple[Tensor, Tensor] | tuple[None, None]
        if self.config.use_vae and self.training:
            if "action" not in batch:
                raise ValueError("ACT with use_vae needs batch['action'] in training mode; call .eval() to predict")
            mu, log_sigma_x2 = latent_stats = self._encode_latent(robot_state, batch["action"], batch["action_is_pad"])
            latent = mu + (log_sigma_x2 / 2).exp() * torch.randn_like(mu)  # reparameterization trick
        else:
            latent_stats = (None, None)
            latent = reference.new_zeros(batch_size, self.config.latent_dim)

        tokens = [self.encoder_latent_input_proj(latent)]
        if robot_state is not None:
            tokens.append(self.encoder_robot_state_input_proj(robot_state))
        if env_state is not None:
            tokens.append(self.encoder_env_state_input_proj(env_state))
        encoder_in_parts = [torch.stack(tokens, dim=1)]  # (B, n_1d_tokens, D)
        encoder_pos_parts = [self.encoder_1d_feature_pos_embed.weight.unsqueeze(0)]  # (1, n_1d_tokens, D)
        for image in images:
            features = self.backbone(image)  # (B, 512, h, w)
            pos = self.encoder_cam_feat_pos_embed(features).to(features.dtype)  # (1, D, h, w)
            image_tokens = self.encoder_img_feat_input_proj(features).flatten(2).transpose(1, 2)  # (B, h*w, D)
            encoder_in_parts.append(image_tokens)
            encoder_pos_parts.append(pos.flatten(2).transpose(1, 2))  # (1, h*w, D)
        encoder_in, encoder_pos = torch.cat(encoder_in_parts, dim=1), torch.cat(encoder_pos_parts, dim=1)
        encoder_out = self.encoder(encoder_in, pos_embed=encoder_pos)

        decoder_in = encoder_in.new_zeros(batch_size, self.config.chunk_size, self.config.dim_model)
        decoder_pos = self.decoder_pos_embed.weight.unsqueeze(0)
        decoder_out = self.decoder(
            decoder_in, encoder_out, decoder_pos_embed=decoder_pos, encoder_pos_embed=encoder_pos
        )
        return self.action_head(decoder_out), latent_stats

    def _encode_latent(
        self, robot_state: Tensor | None, action: Tensor, action_is_pad: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The VAE encoder: the latent's mean and log-variance (each (B, latent_dim)) from the action chunk."""
        batch_size = action.shape[0]
        tokens = [self.vae_encoder_cls_embed.weight.expand(batch_size, 1, -1)]
        if robot_state is not None:
            tokens.append(self.vae_encoder_robot_state_input_proj(robot_state).unsqueeze(1))
        tokens.append(self.vae_encoder_action_input_proj(action))
        vae_in = torch.cat(tokens, dim=1)  # (B, 1 + (1) + chunk_size, D)
        # Padded actions (past the episode's end) are masked out of attention; cls and state never are.
        prefix_is_pad = action_is_pad.new_zeros(batch_size, len(tokens) - 1)
        key_padding_mask = torch.cat([prefix_is_pad, action_is_pad], dim=1)
        cls_out = self.vae_encoder(vae_in, pos_embed=self.vae_encoder_pos_enc, key_padding_mask=key_padding_mask)[:, 0]
        latent_params = self.vae_encoder_latent_output_proj(cls_out)
        return latent_params[:, : self.config.latent_dim], latent_params[:, self.config.latent_dim :]

    @staticmethod
    def _concat(batch: dict[str, Tensor], keys: list[str]) -> Tensor | None:
        if not keys:
            return None
        return torch.cat([batch[k] for k in keys], dim=-1)


class ACTEncoder(nn.Module):
    """A stack of encoder layers, followed by a layer norm when pre_norm."""

    def __init__(self, config: ACTConfig, is_vae_encoder: bool = False):
        super().__init__()
        n_layers = config.n_vae_encoder_layers if is_vae_encoder else config.n_encoder_layers
        self.layers = nn.ModuleList([ACTEncoderLayer(config) for _ in range(n_layers)])
        self.norm = nn.LayerNorm(config.dim_model) if config.pre_norm else nn.Identity()

    def forward(self, x: Tensor, pos_embed: Tensor | None = None, key_padding_mask: Tensor | None = None) -> Tensor:
        for layer in self.layers:
            x = layer(x, pos_embed=pos_embed, key_padding_mask=key_padding_mask)
        return self.norm(x)


class ACTEncoderLayer(nn.Module):
    """Self-attention (position embedding added to queries and keys) then feed-forward, each with a residual."""

    def __init__(self, config: ACTConfig):
        super().__init__()
        self.self_attn = attention(config)
        self.linear1, self.activation, self.linear2 = feedforward(config)
        self.dropout = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(config.dim_model)
        self.norm2 = nn.LayerNorm(config.dim_model)
        self.dropout1 = nn.Dropout(config.dropout)
        self.dropout2 = nn.Dropout(config.dropout)
        self.pre_norm = config.pre_norm

    def forward(self, x: Tensor, pos_embed: Tensor | None = None, key_padding_mask: Tensor | None = None) -> Tensor:
        skip = x
        if self.pre_norm:
            x = self.norm1(x)
        q = k = with_position(x, pos_embed)
        x = self.self_attn(q, k, value=x, key_padding_mask=key_padding_mask, need_weights=False)[0]
        x = skip + self.dropout1(x)
        if self.pre_norm:
            skip, x = x, self.norm2(x)
        else:
            x = skip = self.norm1(x)
        x = skip + self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))
        return x if self.pre_norm else self.norm2(x)


class ACTDecoder(nn.Module):
    """A stack of decoder layers followed by a layer norm."""

    def __init__(self, config: ACTConfig):
        super().__init__()
        self.layers = nn.ModuleList([ACTDecoderLayer(config) for _ in range(config.n_decoder_layers)])
        self.norm = nn.LayerNorm(config.dim_model)

    def forward(
        self,
        x: Tensor,
        encoder_out: Tensor,
        decoder_pos_embed: Tensor | None = None,
        encoder_pos_embed: Tensor | None = None,
    ) -> Tensor:
        for layer in self.layers:
            x = layer(x, encoder_out, decoder_pos_embed=decoder_pos_embed, encoder_pos_embed=encoder_pos_embed)
        return self.norm(x)


class ACTDecoderLayer(nn.Module):
    """Self-attention over the queries, cross-attention to the encoder output, feed-forward; residuals."""

    def __init__(self, config: ACTConfig):
        super().__init__()
        self.self_attn = attention(config)
        self.multihead_attn = attention(config)
        self.linear1, self.activation, self.linear2 = feedforward(config)
        self.dropout = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(config.dim_model)
        self.norm2 = nn.LayerNorm(config.dim_model)
        self.norm3 = nn.LayerNorm(config.dim_model)
        self.dropout1 = nn.Dropout(config.dropout)
        self.dropout2 = nn.Dropout(config.dropout)
        self.dropout3 = nn.Dropout(config.dropout)
        self.pre_norm = config.pre_norm

    def forward(
        self,
        x: Tensor,
        encoder_out: Tensor,
        decoder_pos_embed: Tensor | None = None,
        encoder_pos_embed: Tensor | None = None,
    ) -> Tensor:
        """x: (B, chunk_size, D) queries; encoder_out: (B, n_tokens, D); position embeddings broadcast over B."""
        skip = x
        if self.pre_norm:
            x = self.norm1(x)
        q = k = with_position(x, decoder_pos_embed)
        x = skip + self.dropout1(self.self_attn(q, k, value=x, need_weights=False)[0])
        if self.pre_norm:
            skip, x = x, self.norm2(x)
        else:
            x = skip = self.norm1(x)
        x = self.multihead_attn(
            query=with_position(x, decoder_pos_embed),
            key=with_position(encoder_out, encoder_pos_embed),
            value=encoder_out,
            need_weights=False,
        )[0]
        x = skip + self.dropout2(x)
        if self.pre_norm:
            skip, x = x, self.norm3(x)
        else:
            x = skip = self.norm2(x)
        x = skip + self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))
        return x if self.pre_norm else self.norm3(x)


def attention(config: ACTConfig) -> nn.MultiheadAttention:
    return nn.MultiheadAttention(config.dim_model, config.n_heads, dropout=config.dropout, batch_first=True)


def feedforward(config: ACTConfig) -> tuple[nn.Linear, Callable[[Tensor], Tensor], nn.Linear]:
    """linear1, activation, linear2 of a feed-forward block of width dim_feedforward.

    For "glu" linear1 outputs 2 * dim_feedforward, which the gate halves (LeRobot's glu would not run).
    """
    activations: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu, "glu": F.glu}
    activation = activations[config.feedforward_activation]
    gate = 2 if config.feedforward_activation == "glu" else 1
    return (
        nn.Linear(config.dim_model, gate * config.dim_feedforward),
        activation,
        nn.Linear(config.dim_feedforward, config.dim_model),
    )


def with_position(x: Tensor, pos_embed: Tensor | None) -> Tensor:
    return x if pos_embed is None else x + pos_embed


def sinusoidal_position_embedding(n_positions: int, dim: int) -> Tensor:
    """(n_positions, dim) fixed embeddings of "Attention Is All You Need": sin on even dims, cos on odd ones."""
    position = torch.arange(n_positions, dtype=torch.float64).unsqueeze(1)
    inverse_freq = torch.pow(10000.0, -2 * (torch.arange(dim) // 2).double() / dim)
    angles = position * inverse_freq
    table = torch.empty(n_positions, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles[:, 0::2])
    table[:, 1::2] = torch.cos(angles[:, 1::2])
    return table.float()


class SinusoidalPositionEmbedding2d(nn.Module):
    """Fixed 2-D position embeddings of a feature map (DETR's; LeRobot's ACTSinusoidalPositionEmbedding2d).

    Rows and columns are numbered 1..h and 1..w and scaled to (0, 2*pi]; each axis gets `dim` interleaved
    sin/cos features with frequencies 1 / 10000^(2i/dim); the row features come first. No parameters.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim  # features per axis; the embedding has 2 * dim channels

    def forward(self, feature_map: Tensor) -> Tensor:
        """(B, C, h, w) feature map -> (1, 2 * dim, h, w) embeddings (only its size and device are used)."""
        height, width = feature_map.shape[-2:]
        rows, cols = (self._embed(n, feature_map.device) for n in (height, width))  # (h, dim), (w, dim)
        grid = torch.cat([rows.unsqueeze(1).expand(-1, width, -1), cols.unsqueeze(0).expand(height, -1, -1)], dim=-1)
        return grid.permute(2, 0, 1).unsqueeze(0)

    def _embed(self, n: int, device: torch.device) -> Tensor:
        positions = torch.arange(1, n + 1, dtype=torch.float32, device=device) / (n + 1e-6) * (2 * math.pi)
        inverse_freq = 10000 ** (2 * (torch.arange(self.dim, dtype=torch.float32, device=device) // 2) / self.dim)
        angles = positions.unsqueeze(-1) / inverse_freq  # (n, dim)
        return torch.stack([angles[:, 0::2].sin(), angles[:, 1::2].cos()], dim=-1).flatten(1)
