"""Policies (ACT, MLP) on tiny sizes: loss, gradients, overfitting, action queues, save/load, normalization."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from orchestrator.configs.features import FeatureType, NormalizationMode, PolicyFeature
from orchestrator.errors import UserError
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.act.modeling import ACTPolicy, TemporalEnsembler
from orchestrator.policies.factory import load_policy, make_policy
from orchestrator.policies.mlp.configuration import MLPConfig
from orchestrator.policies.normalize import Normalizer

CHUNK = 5
FEATURES = {
    "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    "observation.environment_state": PolicyFeature(FeatureType.ENV, (16,)),
    "action": PolicyFeature(FeatureType.ACTION, (2,)),
}
INPUT_KEYS = ["observation.state", "observation.environment_state"]
# PushT-like scales, so that normalization matters.
STATS = {
    key: {"mean": np.full(f.shape, 250.0), "std": np.full(f.shape, 80.0),
          "min": np.full(f.shape, 10.0), "max": np.full(f.shape, 500.0)}
    for key, f in FEATURES.items()
}
# In the first decoder layer the queries are all zero, so its self-attention sees identical values at every
# position and its q/k/v and output projections and the following norm weight get exactly zero gradient at
# initialization (as in LeRobot's ACT). The gradient exists; it is just zero.
ZERO_GRAD_AT_INIT = {
    "model.decoder.layers.0.self_attn.in_proj_weight",
    "model.decoder.layers.0.self_attn.out_proj.weight",
    "model.decoder.layers.0.norm1.weight",
}
POLICIES = ["act", "mlp"]


def tiny_config(kind: str, **overrides):
    if kind == "act":
        sizes = dict(chunk_size=CHUNK, n_action_steps=CHUNK, dim_model=32, n_heads=4, dim_feedforward=64,
                     n_encoder_layers=2, n_vae_encoder_layers=2, latent_dim=8)
        return ACTConfig(**{**sizes, **overrides})
    return MLPConfig(**{**dict(hidden_dims=[32, 32], chunk_size=CHUNK, n_action_steps=CHUNK), **overrides})


def tiny_policy(kind: str, **overrides):
    torch.manual_seed(0)
    return make_policy(tiny_config(kind, **overrides), FEATURES, STATS)


def raw_observation(batch_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: 250 + 80 * torch.randn(batch_size, *FEATURES[k].shape, generator=g) for k in INPUT_KEYS}


def raw_batch(batch_size: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed + 1)
    action_is_pad = torch.zeros(batch_size, CHUNK, dtype=torch.bool)
    action_is_pad[0, -2:] = True  # the first sample ends two steps before its chunk does
    return {**raw_observation(batch_size, seed), "action": 250 + 80 * torch.randn(batch_size, CHUNK, 2, generator=g),
            "action_is_pad": action_is_pad}


def count_model_calls(policy) -> list[int]:
    calls = [0]
    policy.model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize("kind", POLICIES)
def test_loss_is_finite_and_logged(kind):
    loss, logs = tiny_policy(kind)(raw_batch())
    assert loss.shape == () and torch.isfinite(loss)
    assert set(logs) == ({"l1_loss", "kld_loss"} if kind == "act" else {"l1_loss"})
    assert all(isinstance(v, float) and math.isfinite(v) for v in logs.values())


@pytest.mark.parametrize("kind", POLICIES)
def test_every_parameter_gets_a_gradient(kind):
    policy = tiny_policy(kind, use_vae=True) if kind == "act" else tiny_policy(kind)
    policy.train()
    policy(raw_batch())[0].backward()
    for name, param in policy.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        if name not in ZERO_GRAD_AT_INIT:
            assert param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("overrides,inputs", [
    ({}, ["observation.state"]),
    ({}, ["observation.environment_state"]),
    ({"pre_norm": True}, INPUT_KEYS),
    ({"feedforward_activation": "gelu"}, INPUT_KEYS),
    ({"feedforward_activation": "glu"}, INPUT_KEYS),
    ({"n_decoder_layers": 2}, INPUT_KEYS),
])
def test_act_variants_train_and_act(overrides, inputs):
    features = {k: FEATURES[k] for k in [*inputs, "action"]}
    torch.manual_seed(0)
    policy = make_policy(tiny_config("act", **overrides), features, STATS)
    batch = {k: v for k, v in raw_batch().items() if k in features or k == "action_is_pad"}
    loss, _ = policy(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert policy.select_action({k: batch[k] for k in inputs}).shape == (8, 2)


@pytest.mark.parametrize("kind,overrides", [("act", {"use_vae": True}), ("act", {"use_vae": False}), ("mlp", {})])
def test_overfits_one_batch(kind, overrides):
    policy = tiny_policy(kind, dropout=0.0, **overrides)
    policy.train()
    optimizer = torch.optim.Adam(policy.optim_param_groups(), lr=1e-3)
    batch = raw_batch()
    first_loss, first_logs = policy(batch)
    for _ in range(150):
        loss, logs = policy(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first_loss.item() / 5, (first_loss.item(), loss.item())
    assert logs["l1_loss"] < first_logs["l1_loss"] / 5, (first_logs, logs)  # not just the KL term


@pytest.mark.parametrize("kind", POLICIES)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_select_action_queries_the_model_once_per_n_action_steps(kind, batch_size):
    policy = tiny_policy(kind, n_action_steps=3)
    calls = count_model_calls(policy)
    for step in range(7):
        action = policy.select_action(raw_observation(batch_size, seed=step))
        assert action.shape == (batch_size, 2)
        assert calls[0] == step // 3 + 1
    policy.reset()
    policy.select_action(raw_observation(batch_size))
    assert calls[0] == 4


def test_select_action_returns_the_predicted_chunk_in_order():
    policy = tiny_policy("mlp", n_action_steps=4)
    observation = raw_observation(3)
    chunk = policy.predict_action_chunk(observation)
    actions = torch.stack([policy.select_action(observation) for _ in range(4)], dim=1)
    torch.testing.assert_close(actions, chunk[:, :4])
    assert actions.abs().mean() > 20  # unnormalized: in the dataset's units, not around 0


def test_temporal_ensembling_queries_every_step():
    policy = tiny_policy("act", n_action_steps=1, temporal_ensemble_coeff=0.01)
    calls = count_model_calls(policy)
    for step in range(CHUNK + 2):
        assert policy.select_action(raw_observation(3, seed=step)).shape == (3, 2)
    assert calls[0] == CHUNK + 2
    policy.reset()
    assert policy.temporal_ensembler.means is None


def test_temporal_ensembler_is_the_weighted_mean_of_every_prediction_for_the_step():
    coeff, steps = 0.3, 9
    chunks = torch.randn(steps, 2, CHUNK, 3)  # a (batch 2, chunk, action_dim 3) chunk predicted at every step
    ensembler = TemporalEnsembler(coeff, CHUNK)
    for t in range(steps):
        action = ensembler.update(chunks[t])
        # predictions for step t were made at steps t-CHUNK+1..t, oldest first, with weights exp(-coeff * i)
        made_at = list(range(max(0, t - CHUNK + 1), t + 1))
        weights = torch.exp(-coeff * torch.arange(len(made_at), dtype=torch.float32))
        predictions = torch.stack([chunks[s][:, t - s] for s in made_at])
        expected = (weights[:, None, None] * predictions).sum(0) / weights.sum()
        torch.testing.assert_close(action, expected)


@pytest.mark.parametrize("kind,overrides", [("act", {"use_vae": False}), ("act", {"use_vae": True}), ("mlp", {})])
def test_save_and_load_give_identical_outputs(kind, overrides, tmp_path):
    policy = tiny_policy(kind, **overrides)
    policy.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors"}
    loaded = load_policy(tmp_path)
    assert type(loaded) is type(policy) and loaded.config == policy.config
    for p in (policy, loaded):
        p.eval()
    observation = raw_observation(3)
    torch.testing.assert_close(loaded.select_action(observation), policy.select_action(observation), rtol=0, atol=0)
    batch = raw_batch()
    assert loaded(batch)[0].item() == policy(batch)[0].item()
    buffers = dict(policy.named_buffers())
    for name, value in loaded.named_buffers():
        torch.testing.assert_close(value, buffers[name], rtol=0, atol=0)


def test_load_policy_explains_a_bad_folder(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        load_policy(tmp_path)
    tiny_policy("mlp").save_pretrained(tmp_path)
    with pytest.raises(UserError, match="'mlp' policy"):
        ACTPolicy.from_pretrained(tmp_path)


def test_make_policy_takes_features_from_the_dataset_and_leaves_the_config_alone():
    cfg = tiny_config("act")
    policy = make_policy(cfg, FEATURES, STATS)
    assert cfg.input_features == {} and cfg.output_features == {}
    assert set(policy.config.input_features) == set(INPUT_KEYS)
    assert set(policy.config.output_features) == {"action"}
    torch.testing.assert_close(policy.normalizer.action_mean, torch.full((2,), 250.0))


def test_make_policy_without_stats_builds_and_loading_fills_the_stats(tmp_path):
    tiny_policy("act").save_pretrained(tmp_path)
    policy = make_policy(tiny_config("act"), FEATURES, stats=None)
    assert torch.isnan(policy.normalizer.action_mean).all()
    policy.load_state_dict(load_policy(tmp_path).state_dict())
    torch.testing.assert_close(policy.normalizer.action_mean, torch.full((2,), 250.0))


def test_make_policy_refuses_images_for_now():
    features = {**FEATURES, "observation.images.top": PolicyFeature(FeatureType.VISUAL, (3, 96, 96))}
    with pytest.raises(UserError, match=r"policy.input_features\[observation.images.top\]"):
        make_policy(tiny_config("act"), features, STATS)


def test_mlp_with_an_observation_history():
    policy = tiny_policy("mlp", n_obs_steps=2, n_action_steps=2)
    batch = raw_batch(4)
    history = {k: torch.stack([batch[k], batch[k] + 1], dim=1) for k in INPUT_KEYS}  # (B, 2, dim)
    assert torch.isfinite(policy({**batch, **history})[0])
    calls = count_model_calls(policy)
    for step in range(4):
        assert policy.select_action(raw_observation(4, seed=step)).shape == (4, 2)
    assert calls[0] == 2


@pytest.mark.parametrize("mode", [NormalizationMode.MEAN_STD, NormalizationMode.MIN_MAX])
def test_normalization_round_trip(mode):
    feature = {"observation.state": PolicyFeature(FeatureType.STATE, (3,))}
    stats = {"observation.state": {"mean": np.array([1.0, -2.0, 3.0]), "std": np.array([0.5, 2.0, 4.0]),
                                   "min": np.array([0.0, -5.0, 1.0]), "max": np.array([2.0, 5.0, 9.0])}}
    normalizer = Normalizer(feature, {"STATE": mode}, stats)
    x = torch.randn(7, 4, 3) * 3
    y = normalizer.normalize("observation.state", x)
    torch.testing.assert_close(normalizer.unnormalize("observation.state", y), x)
    if mode is NormalizationMode.MIN_MAX:
        ends = torch.tensor([[0.0, -5.0, 1.0], [2.0, 5.0, 9.0]])
        expected = torch.tensor([[-1.0] * 3, [1.0] * 3])
        torch.testing.assert_close(normalizer.normalize("observation.state", ends), expected)
    else:
        torch.testing.assert_close(normalizer.normalize("observation.state", torch.tensor([1.0, -2.0, 3.0])),
                                   torch.zeros(3))


@pytest.mark.parametrize("mode", [NormalizationMode.MEAN_STD, NormalizationMode.MIN_MAX])
def test_normalization_guards_a_constant_feature(mode):
    feature = {"observation.state": PolicyFeature(FeatureType.STATE, (2,))}
    stats = {"observation.state": {"mean": np.array([4.0, 1.0]), "std": np.array([0.0, 1.0]),
                                   "min": np.array([4.0, 0.0]), "max": np.array([4.0, 2.0])}}
    normalizer = Normalizer(feature, {"STATE": mode}, stats)
    x = torch.tensor([[4.0, 1.0], [5.0, 2.0]])
    y = normalizer.normalize("observation.state", x)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y[:, 0], torch.tensor([0.0, 1.0]))  # centred, not scaled
    torch.testing.assert_close(normalizer.unnormalize("observation.state", y), x)


def test_identity_normalization_has_no_buffers_and_changes_nothing():
    normalizer = Normalizer(FEATURES, {"STATE": NormalizationMode.IDENTITY}, STATS)  # ENV, ACTION unmapped
    assert len(list(normalizer.buffers())) == 0
    batch = raw_batch()
    assert all(out is batch[k] for k, out in normalizer(batch).items())
