"""ACT and MLP specifics, the ResNet-18 backbone, normalization; the contract of every policy is in
test_policy_contract.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from orchestrator.configs.features import FeatureType, NormalizationMode, PolicyFeature
from orchestrator.errors import UserError
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.act.modeling import ACTPolicy, SinusoidalPositionEmbedding2d, TemporalEnsembler
from orchestrator.policies.factory import load_policy, make_policy
from orchestrator.policies.mlp.configuration import MLPConfig
from orchestrator.policies.normalize import Normalizer
from orchestrator.policies.vision import FrozenBatchNorm2d, load_backbone_weights, resnet18, trunk

torch.set_num_threads(1)

CHUNK = 5
FEATURES = {
    "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    "observation.environment_state": PolicyFeature(FeatureType.ENV, (16,)),
    "action": PolicyFeature(FeatureType.ACTION, (2,)),
}
INPUT_KEYS = ["observation.state", "observation.environment_state"]
# PushT-like scales, so that normalization matters.
STATS = {
    key: {
        "mean": np.full(f.shape, 250.0),
        "std": np.full(f.shape, 80.0),
        "min": np.full(f.shape, 10.0),
        "max": np.full(f.shape, 500.0),
    }
    for key, f in FEATURES.items()
}


def tiny_config(kind: str, **overrides):
    if kind == "act":
        sizes = dict(
            chunk_size=CHUNK,
            n_action_steps=CHUNK,
            dim_model=32,
            n_heads=4,
            dim_feedforward=64,
            n_encoder_layers=2,
            n_vae_encoder_layers=2,
            latent_dim=8,
        )
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
    return {
        **raw_observation(batch_size, seed),
        "action": 250 + 80 * torch.randn(batch_size, CHUNK, 2, generator=g),
        "action_is_pad": action_is_pad,
    }


def count_model_calls(policy) -> list[int]:
    calls = [0]
    policy.model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_act_without_a_camera_or_environment_state_is_refused_as_lerobot_refuses_it():
    with pytest.raises(UserError, match="ACT needs a camera .* or observation.environment_state"):
        make_policy(
            ACTConfig(), {"observation.state": FEATURES["observation.state"], "action": FEATURES["action"]}, None
        )


@pytest.mark.parametrize(
    "overrides,inputs",
    [
        ({}, ["observation.environment_state"]),
        ({"pre_norm": True}, INPUT_KEYS),
        ({"feedforward_activation": "gelu"}, INPUT_KEYS),
        ({"feedforward_activation": "glu"}, INPUT_KEYS),
        ({"n_decoder_layers": 2}, INPUT_KEYS),
        ({"use_vae": False}, INPUT_KEYS),
    ],
)
def test_act_variants_train_and_act(overrides, inputs):
    features = {k: FEATURES[k] for k in [*inputs, "action"]}
    torch.manual_seed(0)
    policy = make_policy(tiny_config("act", **overrides), features, STATS)
    batch = {k: v for k, v in raw_batch().items() if k in features or k == "action_is_pad"}
    loss, logs = policy(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert set(logs) == ({"l1_loss", "kld_loss"} if policy.config.use_vae else {"l1_loss"})
    assert policy.select_action({k: batch[k] for k in inputs}).shape == (8, 2)


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


def test_mlp_refuses_images():
    features = {**FEATURES, "observation.images.top": PolicyFeature(FeatureType.VISUAL, (3, 96, 96))}
    with pytest.raises(
        UserError,
        match=r"policy.input_features\[observation.images.top\]: images are not supported "
        r"by the mlp policy",
    ):
        make_policy(tiny_config("mlp"), features, STATS)


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
    stats = {
        "observation.state": {
            "mean": np.array([1.0, -2.0, 3.0]),
            "std": np.array([0.5, 2.0, 4.0]),
            "min": np.array([0.0, -5.0, 1.0]),
            "max": np.array([2.0, 5.0, 9.0]),
        }
    }
    normalizer = Normalizer(feature, {"STATE": mode}, stats)
    x = torch.randn(7, 4, 3) * 3
    y = normalizer.normalize("observation.state", x)
    torch.testing.assert_close(normalizer.unnormalize("observation.state", y), x)
    if mode is NormalizationMode.MIN_MAX:
        ends = torch.tensor([[0.0, -5.0, 1.0], [2.0, 5.0, 9.0]])
        expected = torch.tensor([[-1.0] * 3, [1.0] * 3])
        torch.testing.assert_close(normalizer.normalize("observation.state", ends), expected)
    else:
        torch.testing.assert_close(
            normalizer.normalize("observation.state", torch.tensor([1.0, -2.0, 3.0])), torch.zeros(3)
        )


def test_normalization_has_lerobots_maths_for_every_mode():
    """LeRobot 0.4.4's NormalizerProcessorStep: std + 1e-8, a zero range replaced by 1e-8, quantile ranges."""
    feature = {"observation.state": PolicyFeature(FeatureType.STATE, (2,))}
    stats = {
        "observation.state": {
            "mean": np.array([4.0, 1.0]),
            "std": np.array([0.0, 2.0]),
            "min": np.array([4.0, 0.0]),
            "max": np.array([4.0, 2.0]),
            "q01": np.array([1.0, 0.0]),
            "q99": np.array([3.0, 4.0]),
            "q10": np.array([2.0, 1.0]),
            "q90": np.array([2.0, 3.0]),
        }
    }
    x = torch.tensor([[4.0, 1.0], [5.0, 2.0]])
    expected = {
        NormalizationMode.MEAN_STD: [[0.0, 0.0], [1e8, 0.5]],
        NormalizationMode.MIN_MAX: [[-1.0, 0.0], [2e8 - 1, 1.0]],
        NormalizationMode.QUANTILES: [[2.0, -0.5], [3.0, 0.0]],
        NormalizationMode.QUANTILE10: [[4e8 - 1, -1.0], [6e8 - 1, 0.0]],
    }
    for mode, values in expected.items():
        y = Normalizer(feature, {"STATE": mode}, stats).normalize("observation.state", x)
        torch.testing.assert_close(y, torch.tensor(values), rtol=1e-6, atol=1e-6, msg=str(mode))


def test_identity_normalization_has_no_buffers_and_changes_nothing():
    normalizer = Normalizer(FEATURES, {"STATE": NormalizationMode.IDENTITY}, STATS)  # ENV, ACTION unmapped
    assert len(list(normalizer.buffers())) == 0
    batch = raw_batch()
    assert all(out is batch[k] for k, out in normalizer(batch).items())


def test_image_normalization_is_per_channel_for_frames_and_histories():
    feature = {"observation.image": PolicyFeature(FeatureType.VISUAL, (3, 4, 5))}
    stats = {"observation.image": {"mean": np.array([0.1, 0.5, 0.9]).reshape(3, 1, 1), "std": np.array([0.5, 1, 2])}}
    normalizer = Normalizer(feature, {"VISUAL": NormalizationMode.MEAN_STD}, stats)
    assert normalizer.observation_image_mean.shape == (3, 1, 1)
    for shape in [(2, 3, 4, 5), (2, 6, 3, 4, 5)]:  # (B, C, H, W) and (B, T, C, H, W)
        x = torch.rand(shape)
        y = normalizer.normalize("observation.image", x)
        torch.testing.assert_close(y[..., 2, :, :], (x[..., 2, :, :] - 0.9) / 2)
        torch.testing.assert_close(normalizer.unnormalize("observation.image", y), x)


# ---- ACT with cameras -------------------------------------------------------------------------------------------

IMAGE_STATS = {"mean": np.full(3, 0.5), "std": np.full(3, 0.25)}


def camera_features(*shapes) -> dict[str, PolicyFeature]:
    cameras = {f"observation.images.cam{i}": PolicyFeature(FeatureType.VISUAL, shape) for i, shape in enumerate(shapes)}
    return {"observation.state": FEATURES["observation.state"], **cameras, "action": FEATURES["action"]}


def camera_policy(*shapes, **overrides):
    features = camera_features(*shapes)
    stats = {k: IMAGE_STATS if f.type == FeatureType.VISUAL else STATS[k] for k, f in features.items()}
    torch.manual_seed(0)
    return make_policy(tiny_config("act", **overrides), features, stats)


def camera_batch(policy, batch_size: int = 2) -> dict[str, torch.Tensor]:
    batch = {k: torch.rand(batch_size, *f.shape) for k, f in policy.config.input_features.items()}
    batch["observation.state"] = 250 + 80 * torch.randn(batch_size, 2)
    return {
        **batch,
        "action": 250 + 80 * torch.randn(batch_size, CHUNK, 2),
        "action_is_pad": torch.zeros(batch_size, CHUNK, dtype=torch.bool),
    }


def test_act_parameter_count_matches_lerobot():
    """LeRobot 0.4.4's ACT for state (2,), observation.image (3, 96, 96), action (2,), default sizes and
    pretrained_backbone_weights=None has 51,588,994 parameters: ResNet-18 up to layer4 (no fc; frozen batch
    norm holds buffers, not parameters), the 1x1 projection, the transformer, VAE encoder and heads."""
    features = {
        "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
        "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 96, 96)),
        "action": PolicyFeature(FeatureType.ACTION, (2,)),
    }
    policy = make_policy(ACTConfig(), features, stats=None)
    assert sum(p.numel() for p in policy.parameters()) == 51_588_994
    keys = set(policy.state_dict())
    assert {
        "model.backbone.conv1.weight",
        "model.backbone.layer4.1.bn2.running_var",
        "model.backbone.layer2.0.downsample.0.weight",
        "model.encoder_img_feat_input_proj.weight",
    } <= keys
    assert not any(k.startswith(("model.backbone.fc", "model.backbone.avgpool")) for k in keys)


@pytest.mark.parametrize("shapes,tokens", [([(3, 32, 32)], 1), ([(3, 64, 64), (3, 32, 96)], 4 + 3)])
def test_act_with_cameras_trains_and_acts(shapes, tokens):
    """Every camera adds one token per cell of its layer4 map (H/32 x W/32); cameras may differ in shape."""
    policy = camera_policy(*shapes)
    seen = []
    policy.model.encoder.register_forward_hook(lambda module, args, out: seen.append(out.shape[1]))
    batch = camera_batch(policy)
    loss, _ = policy(batch)
    loss.backward()
    assert torch.isfinite(loss) and seen == [2 + tokens]  # latent, robot state, camera tokens
    assert policy.model.backbone.conv1.weight.grad.abs().sum() > 0
    observation = {k: batch[k] for k in policy.config.input_features}
    assert policy.select_action(observation).shape == (2, 2)


def test_act_dilation_doubles_the_feature_map():
    policy = camera_policy((3, 64, 64), replace_final_stride_with_dilation=True)
    assert policy.model.backbone(torch.rand(1, 3, 64, 64)).shape == (1, 512, 4, 4)


def test_act_puts_the_backbone_in_its_own_parameter_group():
    policy = camera_policy((3, 32, 32), optimizer_lr_backbone=3e-6)
    main, backbone = policy.optim_param_groups()
    assert backbone["lr"] == 3e-6 and "lr" not in main
    assert {id(p) for p in backbone["params"]} == {id(p) for p in policy.model.backbone.parameters()}
    assert len(main["params"]) + len(backbone["params"]) == len(list(policy.parameters()))
    assert len(tiny_policy("act").optim_param_groups()) == 1  # state only: one group


@pytest.mark.parametrize(
    "shapes,overrides,match",
    [
        ([(1, 32, 32)], {}, r"input_features\[observation.images.cam0\] = \(1, 32, 32\): .*must have 3 channels"),
        (
            [(3, 32, 32), (3, 24, 64)],
            {},
            r"input_features\[observation.images.cam1\] = \(3, 24, 64\): is smaller than "
            r"policy.vision_backbone .* >= 32",
        ),
        ([(3, 8, 16)], {"replace_final_stride_with_dilation": True}, r">= 16"),
        ([(3, 32, 32)], {"dim_model": 30, "n_heads": 3}, r"policy.dim_model = 30: must be a multiple of 4"),
        ([(3, 32)], {}, r"must have the shape \(channels, height, width\)"),
    ],
)
def test_act_refuses_images_it_cannot_use(shapes, overrides, match):
    with pytest.raises(UserError, match=match):
        camera_policy(*shapes, **overrides)


@pytest.mark.parametrize(
    "overrides,fragment",
    [
        ({"n_action_steps": 6}, "n_action_steps = 6: must be <= policy.chunk_size (= 5)"),
        ({"temporal_ensemble_coeff": 0.01}, "n_action_steps = 5: must be 1 when policy.temporal_ensemble_coeff is set"),
        ({"vision_backbone": "resnet50"}, "vision_backbone = 'resnet50': must be one of ['resnet18']"),
        (
            {"pretrained_backbone_weights": "ResNet18_Weights.IMAGENET1K_V1"},
            "cannot be downloaded offline: convert torchvision's weights to a local safetensors file and pass its path",
        ),
        ({"pretrained_backbone_weights": "/no/such/file.safetensors"}, "there is no such file"),
        ({"optimizer_lr_backbone": 0.0}, "optimizer_lr_backbone = 0.0: must be a number > 0"),
    ],
)
def test_act_config_problems_name_the_fields(overrides, fragment):
    assert fragment in [str(p) for p in tiny_config("act", **overrides).problems()][0]


def test_act_starts_from_backbone_weights_and_a_saved_policy_does_not_need_the_file(tmp_path):
    torch.manual_seed(1)
    source = resnet18()  # as torchvision writes it: BatchNorm2d (num_batches_tracked) and the classifier fc
    with torch.no_grad():
        source.layer1[0].bn1.running_mean.uniform_()
    weights = tmp_path / "resnet18.safetensors"
    save_file(source.state_dict(), str(weights))
    policy = camera_policy((3, 32, 32), pretrained_backbone_weights=str(weights))
    torch.testing.assert_close(policy.model.backbone.conv1.weight, source.conv1.weight)
    torch.testing.assert_close(policy.model.backbone.layer1[0].bn1.running_mean, source.layer1[0].bn1.running_mean)
    policy.save_pretrained(tmp_path / "policy")
    weights.unlink()
    torch.testing.assert_close(load_policy(tmp_path / "policy").model.backbone.conv1.weight, source.conv1.weight)


def test_sinusoidal_position_embedding_2d():
    """Channel 2i (2i+1) of each half is sin (cos) of the 1-based row (first half) or column index scaled to
    (0, 2 pi], divided by 10000^(2i/dim)."""
    embedding = SinusoidalPositionEmbedding2d(8)(torch.zeros(2, 512, 3, 4))
    assert embedding.shape == (1, 16, 3, 4)
    rows, cols = torch.arange(1, 4).float() * 2 * math.pi / 3, torch.arange(1, 5).float() * 2 * math.pi / 4
    torch.testing.assert_close(embedding[0, 0, :, 0], rows.sin(), atol=1e-5, rtol=0)
    torch.testing.assert_close(embedding[0, 3, :, 1], (rows / 10000 ** (2 / 8)).cos(), atol=1e-5, rtol=0)
    torch.testing.assert_close(embedding[0, 8, 2, :], cols.sin(), atol=1e-5, rtol=0)


# ---- the ResNet-18 backbone -------------------------------------------------------------------------------------


def test_resnet18_has_torchvisions_names_and_sizes():
    model = resnet18()
    keys = list(model.state_dict())
    assert sum(p.numel() for p in model.parameters()) == 11_689_512  # torchvision's resnet18
    assert len(keys) == 122 and keys[:2] == ["conv1.weight", "bn1.weight"] and keys[-2:] == ["fc.weight", "fc.bias"]
    assert "layer3.0.downsample.1.num_batches_tracked" in keys and model.fc.out_features == 1000
    assert trunk(model)(torch.rand(1, 3, 64, 64)).shape == (1, 512, 2, 2)


def test_frozen_batch_norm_is_batch_norm_in_eval_mode_without_parameters():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(4).eval()
    with torch.no_grad():
        for t in (bn.weight, bn.bias, bn.running_mean):
            t.normal_()
        bn.running_var.uniform_(0.5, 2)
    frozen = FrozenBatchNorm2d(4)
    frozen.load_state_dict(bn.state_dict())  # num_batches_tracked is dropped
    assert list(frozen.parameters()) == []
    x = torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(frozen.train()(x), bn(x))


def test_load_backbone_weights_explains_bad_files(tmp_path):
    model = trunk(resnet18(norm_layer=FrozenBatchNorm2d))
    with pytest.raises(UserError, match="cannot be downloaded offline"):
        load_backbone_weights(model, "ResNet18_Weights.IMAGENET1K_V1", "policy.pretrained_backbone_weights")
    partial = tmp_path / "partial.safetensors"
    save_file({"conv1.weight": torch.zeros(64, 3, 7, 7), "extra": torch.zeros(1)}, str(partial))
    with pytest.raises(
        UserError,
        match=r"policy.x = .*: does not hold ResNet-18 weights \(missing: bn1.weight.*"
        r"unexpected: extra",
    ):
        load_backbone_weights(model, str(partial), "policy.x")
    load_backbone_weights(model, None, "policy.x")  # None: nothing to load
