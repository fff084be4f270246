"""--policy.path: a saved policy folder (or Hub id) becomes the policy section, its weights the starting point;
and the eval command's confidence interval."""

import json

import pytest

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.configs.parsing import parse_train_args
from orchestrator.errors import UserError
from orchestrator.results.stats import wilson_interval

FEATURES = {
    "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    "observation.environment_state": PolicyFeature(FeatureType.ENV, (16,)),
    "action": PolicyFeature(FeatureType.ACTION, (2,)),
}


@pytest.fixture
def saved_mlp(tmp_path):
    from orchestrator.configs.parsing import build_config
    from orchestrator.policies.factory import make_policy

    cfg = build_config(None, [{"policy": {"type": "mlp", "hidden_dims": [16]}}])
    policy = make_policy(cfg.policy, FEATURES, stats=None)
    folder = tmp_path / "saved"
    policy.save_pretrained(folder)
    return folder


def test_policy_path_loads_the_saved_config_and_cli_fields_win(saved_mlp):
    cfg = parse_train_args([f"--policy.path={saved_mlp}", "--policy.n_action_steps=1"])
    assert cfg.policy.type == "mlp" and cfg.policy.hidden_dims == [16]  # from the saved config.json
    assert cfg.policy.pretrained_path == str(saved_mlp.resolve())
    assert cfg.policy.n_action_steps == 1
    assert cfg.optimizer.lr == cfg.policy.optimizer_preset().lr  # the saved policy's preset applies


def test_policy_path_refuses_another_type(saved_mlp):
    with pytest.raises(UserError, match=r"policy.type = 'act': conflicts with policy.path"):
        parse_train_args([f"--policy.path={saved_mlp}", "--policy.type=act"])


def test_policy_path_without_weights_or_folder(saved_mlp, tmp_path):
    (saved_mlp / "model.safetensors").unlink()
    with pytest.raises(UserError, match="has no model.safetensors"):
        parse_train_args([f"--policy.path={saved_mlp}"])
    with pytest.raises(UserError, match="folder not found"):
        parse_train_args([f"--policy.path={tmp_path / 'nope'}"])


def test_policy_path_hub_id_offline_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(UserError) as e:
        parse_train_args(["--policy.path=someone/not-cached-policy"])
    assert "policy.path" in str(e.value) and "someone/not-cached-policy" in str(e.value)


def test_saved_config_json_with_a_broken_file(saved_mlp):
    (saved_mlp / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="is not valid JSON"):
        parse_train_args([f"--policy.path={saved_mlp}"])


@pytest.mark.parametrize("k, n, low, high", [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634)])
def test_wilson_interval(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-3) and hi == pytest.approx(high, abs=1e-3)


def test_saved_config_is_json(saved_mlp):
    assert json.loads((saved_mlp / "config.json").read_text())["type"] == "mlp"
