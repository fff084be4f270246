"""Diffusion Policy: LeRobot parameter count, validation, DDPM/DDIM schedulers, crops, action queues, loss masking.

Tiny sizes: 40x40 images cropped to 36x36 (crops above 32 pixels leave the ResNet a 2x2 feature map).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.errors import UserError
from orchestrator.policies.diffusion.configuration import DiffusionConfig
from orchestrator.policies.diffusion.modeling import DiffusionPolicy
from orchestrator.policies.diffusion.schedulers import DDIMScheduler, DDPMScheduler, make_betas
from orchestrator.policies.factory import load_policy, make_policy

torch.set_num_threads(1)

FEATURES = {
    "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 40, 40)),
    "action": PolicyFeature(FeatureType.ACTION, (2,)),
}
STATS = {
    "observation.state": {"min": np.zeros(2), "max": np.full(2, 500.0)},
    "observation.image": {"mean": np.full((3, 1, 1), 0.5), "std": np.full((3, 1, 1), 0.25)},
    "action": {"min": np.zeros(2), "max": np.full(2, 500.0)},
}
N_OBS, HORIZON, N_ACTION = 2, 8, 3


def tiny_config(**overrides) -> DiffusionConfig:
    sizes = dict(
        n_obs_steps=N_OBS,
        horizon=HORIZON,
        n_action_steps=N_ACTION,
        crop_shape=(36, 36),
        down_dims=(16, 32),
        diffusion_step_embed_dim=8,
        kernel_size=3,
        spatial_softmax_num_keypoints=4,
        noise_scheduler_type="DDIM",
        num_inference_steps=2,
    )
    return DiffusionConfig(**{**sizes, **overrides})


@pytest.fixture(scope="module")
def policy() -> DiffusionPolicy:
    torch.manual_seed(0)
    return make_policy(tiny_config(), FEATURES, STATS)


def raw_batch(batch_size: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "observation.state": 500 * torch.rand(batch_size, N_OBS, 2, generator=g),
        "observation.image": torch.rand(batch_size, N_OBS, 3, 40, 40, generator=g),
        "action": 500 * torch.rand(batch_size, HORIZON, 2, generator=g),
        "action_is_pad": torch.zeros(batch_size, HORIZON, dtype=torch.bool),
    }


def test_parameter_count_matches_lerobot_0_4_4():
    features = {
        "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
        "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 96, 96)),
        "action": PolicyFeature(FeatureType.ACTION, (2,)),
    }
    with torch.device("meta"):  # shapes only: no memory, no initialization
        policy = make_policy(DiffusionConfig(), features, None)
    assert sum(p.numel() for p in policy.parameters()) == 262_709_026


def test_defaults_are_valid_and_windows_follow_lerobot():
    cfg = DiffusionConfig()
    assert cfg.problems() == []
    assert cfg.observation_delta_indices == [-1, 0]
    assert cfg.action_delta_indices == list(range(-1, 15))
    assert cfg.optimizer_preset().betas == (0.95, 0.999)
    assert cfg.scheduler_preset().num_warmup_steps == 500


@pytest.mark.parametrize(
    "overrides, field, fragment",
    [
        (dict(horizon=12), "horizon", "2**len(policy.down_dims) = 8"),
        (dict(n_action_steps=16), "n_action_steps", "policy.horizon - policy.n_obs_steps + 1"),
        (dict(num_inference_steps=101), "num_inference_steps", "policy.num_train_timesteps"),
        (dict(noise_scheduler_type="PNDM"), "noise_scheduler_type", "['DDPM', 'DDIM']"),
        (dict(beta_schedule="cosine"), "beta_schedule", "squaredcos_cap_v2"),
        (dict(prediction_type="v_prediction"), "prediction_type", "['epsilon', 'sample']"),
        (dict(n_groups=3), "n_groups", "policy.down_dims"),
        (dict(beta_schedule="linear", beta_start=0.1, beta_end=0.01), "beta_start", "policy.beta_end"),
    ],
)
def test_config_problems_name_the_fields(overrides, field, fragment):
    problems = DiffusionConfig(**overrides).problems()
    assert [p.field for p in problems] == [field]
    assert fragment in problems[0].message


def image(*shape: int) -> PolicyFeature:
    return PolicyFeature(FeatureType.VISUAL, shape)


@pytest.mark.parametrize(
    "features, crop_shape, fragment",
    [
        ({"observation.state": FEATURES["observation.state"]}, (36, 36), "at least one camera"),
        (
            {"observation.image": image(3, 30, 40)},
            (36, 36),
            "policy.crop_shape = (36, 36): must fit inside the images: policy.input_features[observation.image] is 30x40",
        ),
        (
            {"observation.images.a": image(3, 40, 40), "observation.images.b": image(3, 48, 48)},
            (36, 36),
            "policy.input_features[observation.images.b] = (3, 48, 48): every camera must have one shape",
        ),
        ({"observation.image": image(1, 40, 40)}, (36, 36), "must have 3 channels"),
        ({"observation.image": image(3, 40, 40)}, (32, 32), "policy.crop_shape = (32, 32): gives a 1x1 ResNet"),
        (
            {"observation.image": image(3, 32, 32)},
            None,
            "policy.input_features[observation.image] = (3, 32, 32): gives",
        ),
    ],
)
def test_feature_problems(features, crop_shape, fragment):
    with pytest.raises(UserError) as e:
        make_policy(tiny_config(crop_shape=crop_shape), {**features, "action": FEATURES["action"]}, None)
    assert fragment in str(e.value)


def test_cosine_betas_match_the_closed_form():
    T = 100
    alpha_bar = [math.cos((s / T + 0.008) / 1.008 * math.pi / 2) ** 2 for s in range(T + 1)]
    scheduler = DDPMScheduler(num_train_timesteps=T)
    expected = torch.tensor([alpha_bar[t + 1] / alpha_bar[0] for t in range(T)])
    # Exact until the last beta, which is capped at 0.999 (the closed form's is 1).
    torch.testing.assert_close(scheduler.alphas_cumprod[:-1], expected[:-1], rtol=1e-4, atol=1e-7)
    assert scheduler.betas[-1] == pytest.approx(0.999)
    torch.testing.assert_close(make_betas("linear", 5, 0.1, 0.5), torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5]))


@pytest.mark.parametrize("scheduler_class", [DDPMScheduler, DDIMScheduler])
@pytest.mark.parametrize("prediction_type", ["epsilon", "sample"])
def test_exact_model_recovers_the_sample(scheduler_class, prediction_type):
    """An oracle denoiser (exact noise or sample) brings pure noise back to x0, with few steps or all of them."""
    torch.manual_seed(0)
    x0 = torch.rand(3, 8, 2) * 2 - 1
    for n_steps in (1, 10, 100):
        scheduler = scheduler_class(prediction_type=prediction_type)
        scheduler.set_timesteps(n_steps)
        assert scheduler.timesteps.tolist() == list(range(100 - 100 // n_steps, -1, -(100 // n_steps)))
        sample = torch.randn_like(x0)
        for t in scheduler.timesteps.tolist():
            abar = scheduler.alphas_cumprod[t]
            oracle = (sample - abar.sqrt() * x0) / (1 - abar).sqrt() if prediction_type == "epsilon" else x0
            sample = scheduler.step(oracle, t, sample)
        torch.testing.assert_close(sample, x0, rtol=1e-4, atol=1e-4)


def test_add_noise_then_one_step():
    torch.manual_seed(0)
    x0, noise = torch.rand(4, 8, 2) * 2 - 1, torch.randn(4, 8, 2)
    ddpm = DDPMScheduler()
    t = torch.tensor([0, 0, 0, 0])
    torch.testing.assert_close(ddpm.step(noise, 0, ddpm.add_noise(x0, noise, t)), x0, rtol=1e-4, atol=1e-4)
    # DDIM (eta = 0) with the exact noise lands exactly on the noised sample of the previous timestep.
    ddim = DDIMScheduler(clip_sample=False)
    ddim.set_timesteps(10)
    x_50 = ddim.add_noise(x0, noise, torch.full((4,), 50))
    torch.testing.assert_close(ddim.step(noise, 50, x_50), ddim.add_noise(x0, noise, torch.full((4,), 40)))
    # clip_sample bounds the clean estimate: the last step returns it.
    far = torch.full((1, 2, 2), 5.0)
    assert DDIMScheduler(clip_sample_range=1.0).step(torch.zeros_like(far), 0, far).max() == pytest.approx(1.0)


def test_crop_is_random_in_training_and_central_in_eval(policy):
    encoder = policy.diffusion.rgb_encoder
    rows = torch.arange(40.0).reshape(1, 1, 40, 1).expand(1, 3, 40, 40)  # pixel value = its row
    images = torch.cat([rows, rows.transpose(-1, -2)])  # (2, 3, 40, 40): row index, column index

    def offsets():
        crop = encoder.crop(images)
        assert crop.shape == (2, 3, 36, 36)
        return int(crop[0, 0, 0, 0]), int(crop[1, 0, 0, 0])

    encoder.eval()
    assert offsets() == (2, 2)
    encoder.train()
    torch.manual_seed(0)
    seen = {offsets() for _ in range(20)}
    assert len(seen) > 1 and all(0 <= top <= 4 and 0 <= left <= 4 for top, left in seen)
    encoder.crop_is_random = False
    assert offsets() == (2, 2)
    encoder.crop_is_random = True


def test_select_action_keeps_the_observation_history(policy, monkeypatch):
    """First call: the first frame fills the history; the model runs every n_action_steps calls, on the last
    n_obs_steps frames; reset forgets both queues. Batched over 2 envs."""
    calls = []

    def fake_chunk(observation):
        calls.append(observation["observation.state"].clone())
        chunk = torch.arange(N_ACTION, dtype=torch.float32).reshape(1, N_ACTION, 1).expand(2, N_ACTION, 2)
        return chunk + 10 * len(calls)

    monkeypatch.setattr(policy, "predict_action_chunk", fake_chunk)
    frames = [
        {"observation.state": torch.full((2, 2), float(i)), "observation.image": torch.rand(2, 3, 40, 40)}
        for i in range(5)
    ]
    policy.reset()
    actions = [policy.select_action(f)[0, 0].item() for f in frames]
    assert actions == [10, 11, 12, 20, 21]
    assert [c[0, :, 0].tolist() for c in calls] == [[0, 0], [2, 3]]
    policy.reset()
    assert not policy._action_queue and not policy._observation_queue
    policy.select_action(frames[4])
    assert calls[-1][0, :, 0].tolist() == [4, 4]


def test_predict_action_chunk_runs_from_the_current_frame(policy, monkeypatch):
    normalized = torch.linspace(-1, 1, HORIZON).reshape(1, HORIZON, 1).expand(2, HORIZON, 2)
    monkeypatch.setattr(policy.diffusion, "generate_actions", lambda obs: normalized)
    chunk = policy.predict_action_chunk({k: v[:2] for k, v in raw_batch().items()})
    expected = policy.normalizer.unnormalize("action", normalized[:, N_OBS - 1 : N_OBS - 1 + N_ACTION])
    torch.testing.assert_close(chunk, expected)


def test_real_sampling_gives_finite_actions(policy):
    policy.reset()
    frame = {k: v[:, -1] for k, v in raw_batch(batch_size=3).items() if k.startswith("observation.")}
    action = policy.select_action(frame)
    assert action.shape == (3, 2) and torch.isfinite(action).all()


@pytest.mark.parametrize("mask", [False, True])
def test_loss_masks_padded_actions_only_when_asked(mask, monkeypatch):
    torch.manual_seed(0)
    policy = make_policy(tiny_config(do_mask_loss_for_padding=mask), FEATURES, STATS)
    elementwise = torch.arange(4 * HORIZON * 2, dtype=torch.float32).reshape(4, HORIZON, 2)
    monkeypatch.setattr(policy.diffusion, "compute_loss", lambda obs, actions: elementwise)
    batch = raw_batch()
    batch["action_is_pad"][:, -3:] = True
    loss, _ = policy(batch)
    valid = torch.ones_like(elementwise)
    valid[:, -3:] = 0  # LeRobot zeroes the padded steps' errors and still averages over every element
    expected = (elementwise * valid).mean() if mask else elementwise.mean()
    assert loss.item() == pytest.approx(expected.item())


def test_training_step_reaches_every_parameter_and_round_trips(policy, tmp_path):
    policy.train()
    torch.manual_seed(0)
    loss, _ = policy(raw_batch())
    policy.zero_grad()
    loss.backward()
    assert torch.isfinite(loss)
    assert [n for n, p in policy.named_parameters() if p.grad is None or not p.grad.any()] == []
    policy.save_pretrained(tmp_path)
    loaded = load_policy(tmp_path)
    assert dataclasses.replace(loaded.config, device=None, use_amp=None) == policy.config  # LeRobot's values saved
    for (name, a), b in zip(policy.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_search_space_choices_are_always_valid():
    from orchestrator.search.space import from_sample, split_space
    from orchestrator.search.space_file import load_sweep

    sweep = load_sweep("search_spaces/diffusion.py")
    space, plain = split_space(sweep.base, {})
    keys = ["policy.n_obs_steps", "policy.horizon", "policy.n_action_steps", "policy.down_dims"]  # related fields
    for combo in itertools.product(*[space[k].categories for k in keys]):
        from_sample(plain, dict(zip(keys, combo)), None, sweep.ties)  # validates
