"""Policy folders both ways, against the folders LeRobot 0.4.4 itself wrote (../shared/lerobot/fixtures/policies).

LeRobot -> us: its ACT folder loads here and reproduces LeRobot's own actions; its Diffusion folder loads with every
weight. Us -> LeRobot: the folders we write have the structure of LeRobot's (file names, config.json fields and
their JSON types, processor steps and configs, tensor names and shapes), so LeRobot's `from_pretrained` and
`make_pre_post_processors` read them (checked with LeRobot itself in the side venv; see README "Coming from LeRobot").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from orchestrator.errors import UserError
from orchestrator.policies.base import read_config
from orchestrator.policies.factory import load_policy, make_policy
from tests.support.lerobot_kit import ACT_TINY, ACT_TINY_ACTIONS, DIFFUSION_TINY

FIXTURE_POLICIES = {"act": ACT_TINY, "diffusion": DIFFUSION_TINY}


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    with safe_open(str(path), "pt") as f:
        return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}  # noqa: SIM118  (safe_open is not iterable)


def our_copy(kind: str, folder: Path) -> Path:
    """A policy built here with the fixture's config and features (and its statistics), saved into `folder`."""
    fixture = FIXTURE_POLICIES[kind]
    config = read_config(fixture)
    features = {**config.input_features, **config.output_features}
    stats = {
        key: {name: value.numpy() for name, value in s.items()}
        for key, s in load_policy(fixture).normalizer.stats.items()
    }
    make_policy(config, features, stats).save_pretrained(folder)
    return folder


def test_lerobots_act_folder_reproduces_lerobots_actions():
    policy = load_policy(ACT_TINY).eval()
    reference = load_file(ACT_TINY_ACTIONS)
    observation = {key.removeprefix("obs."): value for key, value in reference.items() if key.startswith("obs.")}
    actions = policy.predict_action_chunk(observation)
    assert actions.shape == reference["actions"].shape == (4, 10, 2)
    # actions are in pixels (up to ~350): float32 carries ~7 digits, so the tolerance is relative
    torch.testing.assert_close(actions, reference["actions"], rtol=1e-5, atol=1e-5)


def test_lerobots_folders_load_every_weight_and_statistic():
    for kind, folder in FIXTURE_POLICIES.items():
        policy = load_policy(folder)  # load_weights refuses a missing or an unexpected weight
        assert policy.config.type == kind
        own = policy.state_dict()
        for key, value in load_file(folder / "model.safetensors").items():
            assert torch.equal(own[key], value), key
        stats = load_file(folder / "policy_preprocessor_step_3_normalizer_processor.safetensors")
        torch.testing.assert_close(
            policy.normalizer.action_std if kind == "act" else policy.normalizer.action_max,
            stats["action.std"] if kind == "act" else stats["action.max"],
        )


def test_lerobots_act_leaves_the_environment_state_unnormalized_as_lerobot_does():
    config = read_config(ACT_TINY)
    assert "ENV" not in config.normalization_mapping
    assert "observation.environment_state" not in load_policy(ACT_TINY).normalizer.modes


@pytest.mark.parametrize("kind", ["act", "diffusion"])
def test_our_folders_have_the_structure_of_lerobots(kind, tmp_path):
    fixture, ours = FIXTURE_POLICIES[kind], our_copy(kind, tmp_path)
    assert {p.name for p in ours.iterdir()} == {p.name for p in fixture.iterdir()}

    theirs_config, our_config = (json.loads((f / "config.json").read_text()) for f in (fixture, ours))
    assert set(our_config) == set(theirs_config)  # LeRobot refuses a field it does not know
    for key, value in theirs_config.items():
        if value is not None and our_config[key] is not None:
            assert type(our_config[key]) is type(value), key  # e.g. use_amp a bool, shapes lists
    assert our_config["use_amp"] is False and our_config["device"] == "cpu"

    for name in ("policy_preprocessor.json", "policy_postprocessor.json"):
        theirs_steps, our_steps = (json.loads((f / name).read_text())["steps"] for f in (fixture, ours))
        assert [s["registry_name"] for s in our_steps] == [s["registry_name"] for s in theirs_steps]
        for theirs, our in zip(theirs_steps, our_steps):
            assert our["config"] == theirs["config"], (name, theirs["registry_name"])
            assert our.get("state_file") == theirs.get("state_file")
        for step in our_steps:
            if "state_file" in step:
                theirs_tensors = tensor_shapes(fixture / step["state_file"])
                our_tensors = tensor_shapes(ours / step["state_file"])
                policy_keys = {k for k in theirs_tensors if not k.startswith("next.")}  # LeRobot keeps every column
                assert {k: theirs_tensors[k] for k in policy_keys} == our_tensors

    assert tensor_shapes(ours / "model.safetensors") == tensor_shapes(fixture / "model.safetensors")


@pytest.mark.parametrize("kind", ["act", "diffusion"])
def test_a_saved_folder_loads_back_with_its_statistics(kind, tmp_path):
    ours = our_copy(kind, tmp_path)
    original, loaded = load_policy(FIXTURE_POLICIES[kind]).eval(), load_policy(ours).eval()
    for key, stats in original.normalizer.stats.items():
        for name, value in stats.items():
            torch.testing.assert_close(loaded.normalizer.stats[key][name], value, rtol=0, atol=0)
    observation = {"observation.state": torch.rand(2, 2) * 100, "observation.environment_state": torch.rand(2, 16)}
    if kind == "diffusion":
        observation = {k: v.unsqueeze(1).expand(-1, 2, -1) for k, v in observation.items()}
    torch.manual_seed(0)
    first = loaded.predict_action_chunk(observation)
    assert torch.isfinite(first).all()


def test_a_folder_without_processor_files_is_refused_naming_the_file(tmp_path):
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((ACT_TINY / name).read_bytes())
    with pytest.raises(UserError) as error:
        load_policy(tmp_path)
    message = str(error.value)
    assert "policy_preprocessor.json" in message and "migrate_policy_normalization" in message


def test_weights_of_another_shape_are_refused_naming_the_file(tmp_path):
    for path in ACT_TINY.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    config["dim_model"] = 32
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError) as error:
        load_policy(tmp_path)
    assert "model.safetensors" in str(error.value)


def test_lerobot_base_fields_are_understood_and_peft_is_refused():
    config = read_config(ACT_TINY)
    assert (config.device, config.use_amp, config.push_to_hub, config.use_peft) == ("cpu", False, True, False)
    config.use_peft = True
    assert any("use_peft" in p.field for p in config.problems())


def test_a_lerobot_backbone_source_is_not_downloaded_when_loading(tmp_path):
    """LeRobot's ACT default names torchvision's ImageNet weights; a saved policy's backbone is in its weights."""
    for path in ACT_TINY.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    config["pretrained_backbone_weights"] = "ResNet18_Weights.IMAGENET1K_V1"
    (tmp_path / "config.json").write_text(json.dumps(config))
    policy = load_policy(tmp_path).eval()
    assert policy.config.pretrained_backbone_weights is None
    assert np.isfinite(
        policy.predict_action_chunk(
            {"observation.state": torch.zeros(1, 2), "observation.environment_state": torch.zeros(1, 16)}
        ).numpy()
    ).all()
