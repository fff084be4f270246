"""Typed configs: dotted CLI overrides, config files, presets that yield to explicit fields, all-at-once errors."""

import json

import pytest

from orchestrator.configs.parsing import build_config, encode, parse_train_args
from orchestrator.errors import UserError


def errors_of(args):
    with pytest.raises(UserError) as e:
        parse_train_args(args)
    return {p.field: p for p in e.value.problems}, e.value.render()


def test_defaults_take_the_policy_preset():
    cfg = parse_train_args([])
    assert cfg.policy.type == "act"
    assert cfg.optimizer.type == "adamw" and cfg.optimizer.lr == 1e-5 and cfg.optimizer.weight_decay == 1e-4
    assert cfg.scheduler.type == "constant"


def test_cli_lr_wins_over_preset_and_keeps_the_rest_of_it():
    cfg = parse_train_args(["--optimizer.lr=3e-4"])
    assert cfg.optimizer.lr == 3e-4
    assert cfg.optimizer.weight_decay == 1e-4  # still the preset's, not AdamW's class default


def test_policy_type_switch_and_nested_values():
    cfg = parse_train_args(
        ["--policy.type=mlp", "--policy.hidden_dims=[32, 16]", "--eval.n_episodes", "4", "--eval.batch_size=2"]
    )
    assert cfg.policy.type == "mlp" and cfg.policy.hidden_dims == [32, 16]
    assert cfg.optimizer.type == "adam" and cfg.optimizer.lr == 1e-3  # the MLP's preset
    assert (cfg.eval.n_episodes, cfg.eval.batch_size) == (4, 2)


def test_explicit_optimizer_type_replaces_the_preset():
    cfg = parse_train_args(["--optimizer.type=sgd", "--optimizer.momentum=0.5"])
    assert cfg.optimizer.type == "sgd" and cfg.optimizer.momentum == 0.5


def test_config_file_then_cli(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("steps: 7\npolicy:\n  type: act\n  chunk_size: 10\n  n_action_steps: 5\noptimizer:\n  lr: 0.002\n")
    cfg = parse_train_args([f"--config_path={path}", "--policy.n_action_steps=8"])
    assert cfg.steps == 7 and cfg.policy.chunk_size == 10 and cfg.policy.n_action_steps == 8
    assert cfg.optimizer.lr == 0.002


def test_saved_json_loads_back_equal(tmp_path):
    cfg = parse_train_args(
        ["--policy.chunk_size=20", "--policy.n_action_steps=10", "--optimizer.lr=5e-4", "--wandb.enable=true"]
    )
    path = tmp_path / "train_config.json"
    path.write_text(json.dumps(encode(cfg)))
    assert build_config(json.loads(path.read_text()), []) == cfg
    assert parse_train_args([f"--config_path={path}"]) == cfg


def test_every_problem_reported_at_once_with_field_value_and_rule():
    errors, text = errors_of(
        ["--policy.n_action_steps=200", "--eval.batch_size=50", "--wandb.mode=x", "--batch_size=-1"]
    )
    assert set(errors) == {"policy.n_action_steps", "eval.batch_size", "wandb.mode", "batch_size"}
    assert "must be <= policy.chunk_size (= 100)" in text and "200" in text
    assert "['online', 'offline', 'disabled']" in text


def test_unknown_policy_type_lists_known_ones():
    from orchestrator.configs.policy import PolicyConfig

    errors, text = errors_of(["--policy.type=difusion"])
    assert "policy.type" in errors and f"known: {sorted(PolicyConfig.get_known_choices())}" in text
    assert "'act'" in text and "'mlp'" in text


def test_unknown_field_and_non_numeric_value():
    errors, text = errors_of(["--policy.chunksize=3", "--steps=abc", "--log_freq=true"])
    assert "did you mean policy.chunk_size" in text
    assert {"policy.chunksize", "steps", "log_freq"} <= set(errors)


@pytest.mark.parametrize("content, message", [("{not json", "not valid JSON"), ("[1, 2]", "mapping")])
def test_malformed_config_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    errors, text = errors_of([f"--config_path={path}"])
    assert "config_path" in errors and message in text


def test_missing_config_file_and_unknown_key_in_file(tmp_path):
    assert "config_path" in errors_of(["--config_path=/nope.yaml"])[0]
    path = tmp_path / "cfg.yaml"
    path.write_text("stepz: 3\n")
    assert "stepz" in errors_of([f"--config_path={path}"])[0]


def test_no_preset_needs_explicit_optimizer():
    errors, text = errors_of(["--use_policy_training_preset=false"])
    assert {"optimizer", "scheduler"} <= set(errors)
    cfg = parse_train_args(["--use_policy_training_preset=false", "--optimizer.type=adam", "--scheduler.type=constant"])
    assert cfg.optimizer.lr == 1e-4  # Adam's class default, no preset involved


@pytest.mark.parametrize("kind", ["adam", "adamw"])
def test_fused_optimizer_is_the_default_and_takes_the_same_steps(kind):
    """Fused Adam(W) is the default (faster, benchmarks/README.md (d)); it must follow the loop form's trajectory."""
    import torch

    cfg = parse_train_args(
        [
            "--use_policy_training_preset=false",
            f"--optimizer.type={kind}",
            "--optimizer.lr=0.01",
            "--scheduler.type=constant",
        ]
    )
    assert cfg.optimizer.fused is True
    params = {}
    for fused in (True, False):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        cfg.optimizer.fused = fused
        optimizer = cfg.optimizer.build([{"params": list(model.parameters())}])
        assert optimizer.defaults["fused"] is fused
        x, y = torch.randn(32, 4), torch.randn(32, 1)
        for _ in range(20):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        params[fused] = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.testing.assert_close(params[True], params[False], rtol=1e-5, atol=1e-6)


def test_cosine_schedule_is_diffusers_cosine_with_warmup():
    """LeRobot's Diffusion preset: diffusers' get_cosine_schedule_with_warmup (lr 0 at step 0, peak at the end of the
    warm-up, half a cosine to 0 at the last step), written out here from diffusers' source."""
    import math

    from orchestrator.configs.optim import CosineDecayWithWarmupConfig

    warmup, total = 10, 50
    schedule = CosineDecayWithWarmupConfig(num_warmup_steps=warmup)

    def diffusers(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))

    assert [schedule.factor(s, total) for s in range(total + 1)] == pytest.approx(
        [diffusers(s) for s in range(total + 1)]
    )
