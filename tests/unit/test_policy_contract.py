"""The contract every registered policy keeps, on tiny sizes: run for each type in POLICY_CLASSES.

A new policy is covered by adding it to POLICY_CLASSES; give it tiny sizes in CONTRACTS (the fallback takes the
fields of GENERIC_TINY that its config has) and store its golden outputs. Each policy is checked on state-only
features and, when it accepts images, on state + one camera:
loss finite; every trainable parameter gets a gradient; one batch is overfitted; select_action shapes for B=1 and
B=3; reset() empties the action queue; save/load round trip; seeded golden outputs.

Golden outputs are tests/golden/<type>.safetensors: the actions and the loss of a policy built after
torch.manual_seed(0). They change whenever initialization or the forward pass changes on purpose; then rerun with
REGENERATE_GOLDEN=1 and commit the files:

    REGENERATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/unit/test_policy_contract.py -k golden
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.policies.factory import POLICY_CLASSES, load_policy, make_policy

torch.set_num_threads(1)

GOLDEN_DIR = Path(__file__).parents[1] / "golden"
LEROBOT_PROCESSOR_FILES = {
    "policy_preprocessor.json",
    "policy_postprocessor.json",
    "policy_preprocessor_step_3_normalizer_processor.safetensors",
    "policy_postprocessor_step_0_unnormalizer_processor.safetensors",
}
REGENERATE = os.environ.get("REGENERATE_GOLDEN") == "1"
N_ACTION_STEPS = 3

STATE = {
    "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    "observation.environment_state": PolicyFeature(FeatureType.ENV, (4,)),
    "action": PolicyFeature(FeatureType.ACTION, (2,)),
}
# 40x40 leaves ResNet-18 a 2x2 feature map (some policies need more than one cell).
IMAGE = {**STATE, "observation.images.top": PolicyFeature(FeatureType.VISUAL, (3, 40, 40))}
FEATURE_SETS = {"state": STATE, "image": IMAGE}


def _stats(feature: PolicyFeature) -> dict[str, np.ndarray]:
    if feature.type == FeatureType.VISUAL:  # per channel, as LeRobot's image stats; pixels in [0, 1]
        return {"mean": np.full(3, 0.5), "std": np.full(3, 0.25), "min": np.zeros(3), "max": np.ones(3)}
    shape = feature.shape  # PushT-like scales, so that normalization matters
    return {
        "mean": np.full(shape, 250.0),
        "std": np.full(shape, 80.0),
        "min": np.full(shape, 10.0),
        "max": np.full(shape, 500.0),
    }


STATS = {key: _stats(feature) for key, feature in IMAGE.items()}


@dataclasses.dataclass
class Contract:
    """How to check one policy type on tiny sizes."""

    overrides: dict  # config fields: tiny sizes, no dropout
    overfit_steps: int = 150  # Adam steps on one batch
    overfit_lr: float = 1e-3  # Adam learning rate (groups with their own lr keep it)
    # Parameter-name prefixes not trained while overfitting: big image backbones are slow on CPU and the rest of
    # the network memorizes one batch alone. Their gradients are still checked.
    overfit_frozen: tuple[str, ...] = ()
    zero_grad_at_init: frozenset[str] = frozenset()  # parameters whose gradient is exactly 0 at init, by design


GENERIC_TINY = dict(
    chunk_size=5,
    n_action_steps=N_ACTION_STEPS,
    dim_model=32,
    n_heads=4,
    dim_feedforward=64,
    hidden_dims=[32, 32],
    dropout=0.0,
)
CONTRACTS = {
    "act": Contract(
        overrides=dict(
            chunk_size=5,
            n_action_steps=N_ACTION_STEPS,
            dim_model=32,
            n_heads=4,
            dim_feedforward=64,
            n_encoder_layers=1,
            n_vae_encoder_layers=1,
            latent_dim=8,
            dropout=0.0,
        ),
        overfit_frozen=("model.backbone.",),
        # The first decoder layer's queries are all zero, so its self-attention sees identical values at every
        # position: its q/k/v and output projections and the following norm weight get exactly zero gradient at
        # initialization (as in LeRobot's ACT).
        zero_grad_at_init=frozenset(
            {
                "model.decoder.layers.0.self_attn.in_proj_weight",
                "model.decoder.layers.0.self_attn.out_proj.weight",
                "model.decoder.layers.0.norm1.weight",
            }
        ),
    ),
    "diffusion": Contract(
        overrides=dict(
            n_obs_steps=2,
            horizon=8,
            n_action_steps=N_ACTION_STEPS,
            crop_shape=(36, 36),
            down_dims=(16, 32),
            diffusion_step_embed_dim=8,
            kernel_size=3,
            spatial_softmax_num_keypoints=4,
            noise_scheduler_type="DDIM",
            num_inference_steps=2,
        ),
        overfit_frozen=("diffusion.rgb_encoder.backbone.",),
    ),
    "mlp": Contract(overrides=dict(hidden_dims=[32, 32], chunk_size=5, n_action_steps=N_ACTION_STEPS)),
}


def contract(kind: str) -> Contract:
    if kind in CONTRACTS:
        return CONTRACTS[kind]
    fields = {f.name for f in dataclasses.fields(POLICY_CLASSES[kind].config_class)}
    return Contract(overrides={k: v for k, v in GENERIC_TINY.items() if k in fields})


CASES = [
    pytest.param(kind, name, id=f"{kind}-{name}")
    for kind, cls in POLICY_CLASSES.items()
    for name in FEATURE_SETS
    if name == "state" or cls.accepts_images
]


def build(kind: str, features_name: str, seed: int = 0):
    torch.manual_seed(seed)
    config = POLICY_CLASSES[kind].config_class(**contract(kind).overrides)
    return make_policy(config, FEATURE_SETS[features_name], STATS)


def raw_frame(feature: PolicyFeature, leading: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    if feature.type == FeatureType.VISUAL:
        return torch.rand(*leading, *feature.shape, generator=g)
    return 250 + 80 * torch.randn(*leading, *feature.shape, generator=g)


def raw_observation(policy, batch_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """One frame per input feature, as an env gives it: (B, *shape)."""
    g = torch.Generator().manual_seed(seed)
    return {k: raw_frame(f, (batch_size,), g) for k, f in policy.config.input_features.items()}


def raw_batch(policy, batch_size: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    """A training batch with the windows the config asks for (observation history, action chunk)."""
    g = torch.Generator().manual_seed(seed)
    n_obs = policy.config.observation_delta_indices
    leading = (batch_size,) if n_obs is None else (batch_size, len(n_obs))
    batch = {k: raw_frame(f, leading, g) for k, f in policy.config.input_features.items()}
    horizon = len(policy.config.action_delta_indices)
    batch["action"] = raw_frame(policy.config.output_features["action"], (batch_size, horizon), g)
    batch["action_is_pad"] = torch.zeros(batch_size, horizon, dtype=torch.bool)
    batch["action_is_pad"][0, -2:] = True  # the first sample's episode ends two steps before its chunk does
    return batch


def seeded_loss(policy, batch: dict[str, torch.Tensor], seed: int = 1) -> torch.Tensor:
    torch.manual_seed(seed)  # dropout, VAE or diffusion noise
    return policy(batch)[0]


def actions(policy, batch_size: int = 3) -> torch.Tensor:
    """The first n_action_steps actions for one observation, (B, n_action_steps, action_dim); seeded."""
    policy.reset()
    torch.manual_seed(2)
    observation = raw_observation(policy, batch_size)
    return torch.stack([policy.select_action(observation) for _ in range(N_ACTION_STEPS)], dim=1)


@pytest.mark.parametrize("kind,features", CASES)
def test_loss_is_finite_and_logged(kind, features):
    policy = build(kind, features)
    loss, logs = policy(raw_batch(policy))
    assert loss.shape == () and torch.isfinite(loss)
    assert logs and all(isinstance(v, float) and math.isfinite(v) for v in logs.values())


@pytest.mark.parametrize("kind,features", CASES)
def test_every_trainable_parameter_gets_a_gradient(kind, features):
    policy = build(kind, features)
    policy.train()
    seeded_loss(policy, raw_batch(policy)).backward()
    for name, param in policy.named_parameters():
        if not param.requires_grad:
            continue
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        if name not in contract(kind).zero_grad_at_init:
            assert param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("kind,features", CASES)
def test_overfits_one_batch(kind, features):
    spec = contract(kind)
    policy = build(kind, features)
    for name, param in policy.named_parameters():
        if name.startswith(spec.overfit_frozen):
            param.requires_grad_(False)
    policy.train()
    optimizer = torch.optim.Adam(policy.optim_param_groups(), lr=spec.overfit_lr)
    batch = raw_batch(policy)
    first_loss = seeded_loss(policy, batch).item()
    for _ in range(spec.overfit_steps):
        loss = seeded_loss(policy, batch)  # the same noise every step: a fixed function to memorize
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first_loss / 10, (first_loss, loss.item())


@pytest.mark.parametrize("kind,features", CASES)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_select_action_shapes_and_reset(kind, features, batch_size):
    policy = build(kind, features)
    calls = [0]
    predict = policy.predict_action_chunk
    policy.predict_action_chunk = lambda obs: (calls.__setitem__(0, calls[0] + 1), predict(obs))[1]
    for step in range(N_ACTION_STEPS + 1):  # the queue runs out once
        action = policy.select_action(raw_observation(policy, batch_size, seed=step))
        assert action.shape == (batch_size, 2) and torch.isfinite(action).all()
    assert calls[0] == 2 and len(policy._action_queue) == N_ACTION_STEPS - 1
    policy.reset()
    assert len(policy._action_queue) == 0
    policy.select_action(raw_observation(policy, batch_size))
    assert calls[0] == 3


@pytest.mark.parametrize("kind,features", CASES)
def test_save_and_load_give_identical_outputs(kind, features, tmp_path):
    policy = build(kind, features)
    policy.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors", *LEROBOT_PROCESSOR_FILES}
    loaded = load_policy(tmp_path)
    assert type(loaded) is type(policy)
    assert dataclasses.replace(loaded.config, device=None, use_amp=None) == policy.config  # saved as LeRobot's values
    assert (loaded.config.device, loaded.config.use_amp) == ("cpu", False)
    torch.testing.assert_close(actions(loaded), actions(policy), rtol=0, atol=0)
    batch = raw_batch(policy)
    assert seeded_loss(loaded, batch).item() == seeded_loss(policy, batch).item()
    buffers = dict(policy.named_buffers())
    for name, value in loaded.named_buffers():
        torch.testing.assert_close(value, buffers[name], rtol=0, atol=0)


@pytest.mark.parametrize("kind,features", CASES)
def test_golden_outputs(kind, features):
    """Seeded actions and loss match tests/golden/<type>.safetensors (see the module docstring to regenerate)."""
    policy = build(kind, features)
    outputs = {f"{features}.actions": actions(policy)}
    policy.train()
    outputs[f"{features}.loss"] = seeded_loss(policy, raw_batch(policy)).detach()
    path = GOLDEN_DIR / f"{kind}.safetensors"
    if REGENERATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        stored = load_file(path) if path.exists() else {}
        save_file({**stored, **{k: v.contiguous() for k, v in outputs.items()}}, path)
    assert path.exists(), f"no golden outputs for {kind!r}: run with REGENERATE_GOLDEN=1 (see the module docstring)"
    golden = load_file(path)
    for key, value in outputs.items():
        assert key in golden, f"{path} has no {key!r}: run with REGENERATE_GOLDEN=1 (see the module docstring)"
        torch.testing.assert_close(value, golden[key], rtol=1e-4, atol=1e-4)
