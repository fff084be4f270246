"""Every simulator: built from its config, observations mapped to its declared features, driven by its expert,
rolled out with a policy that sees float (B, C, H, W) images; bad env types and tasks are refused clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from orchestrator.configs.features import FeatureType
from orchestrator.configs.parsing import parse_train_args
from orchestrator.envs.configs import AlohaEnvConfig, GymEnvConfig, MetaWorldEnvConfig, PushTEnvConfig
from orchestrator.envs.experts import EXPERTS
from orchestrator.envs.rollout import rollout
from orchestrator.envs.vector import make_vector_env
from orchestrator.errors import UserError

CONFIGS = [
    PushTEnvConfig(obs_type="keypoints"),
    PushTEnvConfig(obs_type="state"),
    PushTEnvConfig(obs_type="pixels"),
    PushTEnvConfig(obs_type="pixels_agent_pos"),
    AlohaEnvConfig(task="transfer_cube", cameras=["top"], render_height=48, render_width=64),
    AlohaEnvConfig(task="insertion", cameras=[]),
    MetaWorldEnvConfig(task="pick-place"),
    GymEnvConfig(id="Pendulum-v1"),
]


def assert_matches_features(frame: dict[str, np.ndarray], cfg, batch: tuple[int, ...] = ()):
    """Images uint8 (..., H, W, C) for a declared (C, H, W); vectors float32 of the declared shape."""
    features = {key: f for key, f in cfg.features().items() if f.type != FeatureType.ACTION}
    assert set(frame) == set(features)
    for key, feature in features.items():
        if feature.type == FeatureType.VISUAL:
            c, h, w = feature.shape
            assert frame[key].shape == (*batch, h, w, c) and frame[key].dtype == np.uint8, key
        else:
            assert frame[key].shape == (*batch, *feature.shape) and frame[key].dtype == np.float32, key


def name(cfg) -> str:
    """A test id: the env type and what selects its variant."""
    variant = [str(getattr(cfg, field)) for field in ("obs_type", "task", "id", "cameras") if hasattr(cfg, field)]
    return "-".join([cfg.type, *variant])


@pytest.mark.parametrize("cfg", CONFIGS, ids=name)
def test_env_frames_match_its_features(cfg):
    assert cfg.problems() == [] and cfg.task_description
    env = cfg.make()
    observation, _ = env.reset(seed=0)
    assert_matches_features(cfg.to_frame(observation), cfg)
    action = np.zeros(cfg.features()["action"].shape, np.float32)
    if cfg.type == "aloha":  # joint targets: hold the start pose
        action = observation["agent_pos"].astype(np.float32)
    observation, *_ = env.step(action)
    assert_matches_features(cfg.to_frame(observation), cfg)
    env.close()
    vector = make_vector_env(cfg, 2)
    observation, _ = vector.reset(seed=[0, 1])
    assert_matches_features(cfg.to_frame(observation), cfg, batch=(2,))
    vector.close()


def run_expert(cfg, seed: int) -> tuple[bool, int]:
    env = cfg.make()
    expert = EXPERTS[cfg.type](seed=seed)
    observation, _ = env.reset(seed=seed)
    expert.reset(env)
    done, steps = False, 0
    while not done:
        action = expert.act(env)
        assert action.shape == cfg.features()["action"].shape and action.dtype == np.float32
        observation, _, terminated, truncated, info = env.step(action)
        assert_matches_features(cfg.to_frame(observation), cfg)
        done, steps = terminated or truncated, steps + 1
    env.close()
    return bool(info["is_success"]), steps


@pytest.mark.parametrize(
    "cfg",
    [
        MetaWorldEnvConfig(task="reach"),
        MetaWorldEnvConfig(task="pick-place"),
        MetaWorldEnvConfig(task="door-open"),
        AlohaEnvConfig(task="transfer_cube", cameras=[]),
        AlohaEnvConfig(task="transfer_cube", cameras=["top"], render_height=48, render_width=64),
        PushTEnvConfig(obs_type="pixels_agent_pos"),
    ],
    ids=name,
)
def test_expert_solves_an_episode(cfg):
    success, steps = run_expert(cfg, seed=0)
    assert success and steps < cfg.episode_length


def test_metaworld_starts_are_random_and_reproducible():
    env = MetaWorldEnvConfig(task="push").make()
    first, again, other = (env.reset(seed=seed)[0] for seed in (3, 3, 4))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first[4:7], other[4:7])  # the puck moved


def test_aloha_starts_are_random_and_reproducible():
    env = AlohaEnvConfig(cameras=[]).make()
    cubes = []
    for seed in (3, 3, 4):
        env.reset(seed=seed)
        cubes.append(env.unwrapped.physics.data.qpos[16:19].copy())  # the cube's position
    np.testing.assert_array_equal(cubes[0], cubes[1])
    assert not np.allclose(cubes[0], cubes[2])


class ImageCheckingPolicy(torch.nn.Module):
    """Asserts that images arrive as float (B, C, H, W) in [0, 1]; acts with zeros."""

    def __init__(self, image_key: str, shape: tuple[int, int, int], action_dim: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.image_key, self.shape, self.action_dim, self.calls = image_key, shape, action_dim, 0

    def reset(self):
        pass

    def select_action(self, observation: dict[str, torch.Tensor]) -> torch.Tensor:
        image = observation[self.image_key]
        assert image.dtype == torch.float32 and image.shape[1:] == self.shape
        assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.0
        assert observation["observation.state"].dtype == torch.float32
        self.calls += 1
        return torch.zeros(image.shape[0], self.action_dim)


@pytest.mark.parametrize(
    "cfg,key",
    [
        (PushTEnvConfig(obs_type="pixels_agent_pos", episode_length=3), "observation.image"),
        (
            AlohaEnvConfig(cameras=["top"], render_height=48, render_width=64, episode_length=3),
            "observation.images.top",
        ),
    ],
)
def test_rollout_gives_policies_float_chw_images(cfg, key):
    feature = cfg.features()[key]
    policy = ImageCheckingPolicy(key, feature.shape, cfg.features()["action"].shape[0])
    results = rollout(policy, cfg, seeds=[0, 1, 2], batch_size=2)
    assert len(results) == 3 and policy.calls == 2 * cfg.episode_length


@pytest.mark.parametrize(
    "args,match",
    [
        (["--env.type=nope"], "env.type = 'nope': unknown choice; known: .*'aloha', 'gym', 'metaworld', 'pusht'"),
        (["--env.type=metaworld", "--env.task=pick-plac"], "env.task = 'pick-plac': must be one of .*'pick-place'"),
        (["--env.type=metaworld", "--env.episode_length=501"], "env.episode_length = 501: must be <= 500"),
        (
            ["--env.type=aloha", "--env.task=cube"],
            "env.task = 'cube': must be one of \\['transfer_cube', 'insertion'\\]",
        ),
        (["--env.type=aloha", "--env.cameras=[top, nose]"], "env.cameras = 'nose': must be one of .*'top'"),
        (["--env.type=pusht", "--env.obs_type=rgb"], "env.obs_type = 'rgb': must be one of .*'pixels_agent_pos'"),
        (["--env.type=gym"], "env.id: is required"),
        (["--env.type=gym", "--env.id=NoSuchEnv-v0"], "env.id = 'NoSuchEnv-v0': gym.make failed"),
        (["--env.type=gym", "--env.id=CartPole-v1"], "env.id = 'CartPole-v1': needs a 1-d Box action space .*Discrete"),
    ],
)
def test_bad_env_configs_name_the_field_and_what_is_allowed(args, match):
    with pytest.raises(UserError, match=match):
        parse_train_args(args)


def test_env_configs_parse_from_the_command_line():
    cfg = parse_train_args(["--env.type=aloha", "--env.cameras=[top, angle]", "--env.render_height=120"]).env
    assert cfg == AlohaEnvConfig(cameras=["top", "angle"], render_height=120)
    assert parse_train_args(["--env.type=gym", "--env.id=Pendulum-v1"]).env.features()["action"].shape == (1,)
