"""Config dataclasses <-> Ray Tune search spaces, and search-space files."""

import pytest
from ray import tune

from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import UserError
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.search.space import from_sample, split_space, to_param_space
from orchestrator.search.space_file import load_sweep


def base():
    return TrainPipelineConfig(
        policy=ACTConfig(
            chunk_size=tune.choice([10, 20]),
            n_action_steps=10,
            kl_weight=tune.loguniform(1.0, 100.0),
            dim_model=tune.grid_search([32, 64]),
        ),
        optimizer=AdamWConfig(lr=tune.loguniform(1e-5, 1e-3)),
    )


def test_round_trip_sets_exactly_the_sampled_fields():
    space, plain = to_param_space(base())
    assert set(space) == {"policy.chunk_size", "policy.kl_weight", "policy.dim_model", "optimizer.lr"}
    sample = {"policy.chunk_size": 20, "policy.kl_weight": 3.5, "policy.dim_model": 64, "optimizer.lr": 2e-4}
    cfg = from_sample(plain, sample)
    assert (cfg.policy.chunk_size, cfg.policy.kl_weight, cfg.policy.dim_model, cfg.optimizer.lr) == (20, 3.5, 64, 2e-4)
    unsampled = from_sample(plain, {})
    assert cfg.policy.n_action_steps == unsampled.policy.n_action_steps == 10
    assert isinstance(cfg, TrainPipelineConfig)


def test_sampled_values_from_tune_round_trip():
    space, plain = to_param_space(base())
    space.pop("policy.dim_model")  # grid_search is expanded by Tune's variant generator, not sampled
    for seed in range(5):
        sample = {k: d.sample(random_state=seed) for k, d in space.items()}
        cfg = from_sample(plain, sample)
        assert cfg.optimizer.lr == pytest.approx(sample["optimizer.lr"])
        assert 1.0 <= cfg.policy.kl_weight <= 100.0


def test_overrides_fix_a_searched_field_and_ties_follow():
    space, plain = split_space(base(), {"policy": {"kl_weight": "5"}})
    assert "policy.kl_weight" not in space
    cfg = from_sample(
        plain,
        {"policy.chunk_size": 20},
        {"policy": {"kl_weight": "5"}},
        ties={"policy.n_action_steps": "policy.chunk_size"},
    )
    assert cfg.policy.kl_weight == 5.0 and cfg.policy.n_action_steps == 20


def test_sampled_invalid_config_names_the_field():
    _, plain = to_param_space(base())
    with pytest.raises(UserError, match="policy.n_action_steps"):
        from_sample(plain, {"policy.chunk_size": 5})  # n_action_steps = 10 > 5


@pytest.mark.parametrize(
    "policy, fragment",
    [
        (ACTConfig(chunk_size=tune.uniform(1, 10)), "policy.chunk_size"),  # floats on an int field
        (ACTConfig(dim_model=tune.choice(["big"])), "policy.dim_model"),
        (ACTConfig(kl_weight=tune.uniform(5.0, 1.0)), "lower < upper"),
    ],
)
def test_bad_distributions_rejected_before_any_trial(policy, fragment):
    with pytest.raises(UserError, match=fragment):
        split_space(TrainPipelineConfig(policy=policy), {})


def test_invalid_log_bounds_are_reported_from_the_file(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from ray import tune\nfrom orchestrator.configs.tune import Sweep\nx = tune.loguniform(0, 1)\n")
    with pytest.raises(UserError, match="bad.py:3"):
        load_sweep(path)


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "file not found"),
        ("def broken(:\n", "does not parse"),
        ("x = 1\n", "must define `sweep = Sweep(...)`"),
    ],
)
def test_search_space_file_errors(tmp_path, content, fragment):
    path = tmp_path / "space.py"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_sweep(path)


def test_shipped_search_spaces_load_and_validate():
    for name in ("act", "diffusion", "mlp"):
        sweep = load_sweep(f"search_spaces/{name}.py")
        space, plain = split_space(sweep.base, {})
        assert space, f"{name}.py searches nothing"
        assert from_sample(plain, {}, None, sweep.ties) is not None
