"""Conditional spaces (a sub-space per policy type), constraints between fields, and seeds as a dimension
(--tune.repeats): building, sampling, the searchers' bookkeeping and the report's ranking. No Ray cluster."""

import random

import optuna
import pytest
from ray import tune

from orchestrator import metrics as M
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import TuneConfig
from orchestrator.errors import UserError
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.diffusion.configuration import DiffusionConfig
from orchestrator.report.table import markdown_table
from orchestrator.results.rows import config_summaries, rank, trial_row
from orchestrator.results.seeds import CONFIG_ID, config_id_of
from orchestrator.search.algorithms import OptunaOnEvaluations, search_algorithm
from orchestrator.search.conditional import DefineByRun, condition_of, sample_point
from orchestrator.search.constraints import pass_counts, search_problems, tell_infeasible, violated
from orchestrator.search.repeats import Repeats
from orchestrator.search.space import describe, from_sample, split_space
from orchestrator.sweep.prepare import sweep_layers

optuna.logging.set_verbosity(optuna.logging.WARNING)
ACT_SMALL = dict(n_heads=2, dim_feedforward=64, n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=8)
SMALL_STEPS = lambda cfg: cfg.policy.type != "act" or cfg.policy.n_action_steps <= cfg.policy.chunk_size  # noqa: E731


def either():
    return TrainPipelineConfig(
        policy=tune.choice(
            [
                ACTConfig(
                    dim_model=tune.choice([32, 64]),
                    chunk_size=tune.choice([4, 8]),
                    n_action_steps=tune.choice([4, 8]),
                    **ACT_SMALL,
                ),
                DiffusionConfig(horizon=tune.choice([8, 16]), down_dims=(32, 64), n_action_steps=4),
            ]
        ),
        optimizer=None,
    )


def test_a_choice_of_configs_lifts_into_readable_conditional_fields():
    space, base = split_space(either(), {})
    assert list(space)[0] == "policy.type" and describe(space["policy.type"]) == "choice(['act', 'diffusion'])"
    assert set(space) == {
        "policy.type",
        "policy.act.dim_model",
        "policy.act.chunk_size",
        "policy.act.n_action_steps",
        "policy.diffusion.horizon",
    }
    assert condition_of(space, "policy.act.dim_model") == ("policy.type", "act")
    assert condition_of(space, "policy.diffusion.horizon") == ("policy.type", "diffusion")
    # each sample becomes one typed config of the sampled type, with that type's fixed values
    cfg = from_sample(base, {"policy.type": "diffusion", "policy.diffusion.horizon": 16, "policy.act.dim_model": 64})
    assert isinstance(cfg.policy, DiffusionConfig) and cfg.policy.horizon == 16 and cfg.policy.down_dims == (32, 64)
    cfg = from_sample(
        base,
        {"policy.type": "act", "policy.act.dim_model": 64, "policy.act.chunk_size": 8, "policy.act.n_action_steps": 8},
    )
    assert isinstance(cfg.policy, ACTConfig) and (cfg.policy.dim_model, cfg.policy.chunk_size) == (64, 8)
    assert cfg.policy.n_heads == 2  # the type's fixed values
    assert isinstance(from_sample(base, {}).policy, ACTConfig)  # the baseline: the first type


def test_random_samples_draw_only_the_sampled_types_fields():
    space, base = split_space(either(), {})
    seen = set()
    for seed in range(40):
        point = sample_point(space, random.Random(seed))
        kind = point["policy.type"]
        seen.add(kind)
        assert all(k == "policy.type" or k.startswith(f"policy.{kind}.") for k in point if k.startswith("policy."))
    assert seen == {"act", "diffusion"}


def test_the_command_line_picks_one_type_or_fixes_a_field_of_every_type():
    space, base = split_space(either(), {"policy": {"type": "diffusion"}})
    assert set(space) == {"policy.horizon"}  # only Diffusion's sub-space, under plain names
    cfg = from_sample(base, {"policy.horizon": 16}, {"policy": {"type": "diffusion"}})
    assert isinstance(cfg.policy, DiffusionConfig) and cfg.policy.down_dims == (32, 64) and cfg.policy.horizon == 16
    space, _ = split_space(either(), {"policy": {"dim_model": 64}})
    assert "policy.act.dim_model" not in space and "policy.type" in space


def test_defaults_can_choose_the_baselines_type(tmp_path):
    path = tmp_path / "space.py"
    path.write_text(SPACE_FILE.replace("DEFAULTS", '{"policy.type": "diffusion", "policy.horizon": 16}'))
    _, cli, _, _, _, base = sweep_layers(str(path), [])
    cfg = from_sample(base, {}, cli)
    assert isinstance(cfg.policy, DiffusionConfig) and cfg.policy.horizon == 16 and cfg.policy.down_dims == (32, 64)


def test_a_type_searched_as_a_plain_value_is_refused_with_the_way_to_write_it():
    from orchestrator.search.space import check_space

    problems = check_space({"policy.type": tune.choice(["act", "diffusion"])}, TrainPipelineConfig())
    assert problems[0].field == "policy.type" and "tune.choice([ACTConfig(...)" in problems[0].message


def test_optuna_define_by_run_suggests_only_the_chosen_types_fields():
    space, _ = split_space(either(), {})
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    kinds = set()
    for _ in range(20):
        trial = study.ask()
        DefineByRun(space)(trial)
        kind = trial.params["policy.type"]
        kinds.add(kind)
        assert all(k == "policy.type" or k.startswith(f"policy.{kind}.") for k in trial.params)
        study.tell(trial, 0.5)
    assert kinds == {"act", "diffusion"}


def test_constraints_are_checked_on_the_typed_config_before_validation():
    space, base = split_space(either(), {})
    bad = from_sample(
        base, {"policy.type": "act", "policy.act.chunk_size": 4, "policy.act.n_action_steps": 8}, validate=False
    )  # ACT's own validation would reject it: the constraint sees it first
    constraints = {"n_action_steps <= chunk_size": SMALL_STEPS, "small": lambda cfg: True}
    assert violated(constraints, bad) == ["n_action_steps <= chunk_size"]
    good = from_sample(base, {"policy.type": "diffusion"}, validate=False)
    assert violated(constraints, good) == []
    assert pass_counts(constraints, [bad, good, good]) == ({"n_action_steps <= chunk_size": 2, "small": 3}, 2)
    with pytest.raises(UserError, match="constraints\\['boom'\\].*ZeroDivisionError"):
        violated({"boom": lambda cfg: 1 / 0}, good)


def test_the_baseline_breaking_a_constraint_and_unsupported_searches_are_refused():
    space, base = split_space(either(), {})
    default = from_sample(base, {}, validate=False)
    t = TuneConfig()
    assert search_problems(t, space, default, {"never": lambda cfg: False})[0].field == "constraints['never']"
    assert search_problems(t, space, default, [lambda cfg: True])[0].field == "constraints"
    t.search = "grid"
    assert [p.field for p in search_problems(t, space, default, {})] == ["tune.search"]


def _searcher(space=None):
    s = OptunaOnEvaluations(
        space=DefineByRun(space) if space else None,
        metric="eval/success",
        mode="max",
        sampler=optuna.samplers.TPESampler(seed=0),
    )
    return s


def test_an_infeasible_trial_is_told_to_optuna_as_infeasible_not_failed():
    space, _ = split_space(either(), {})
    s = _searcher(space)
    s.suggest("t1")
    s.on_trial_complete("t1", {M.INFEASIBLE: True, M.VIOLATED: ["n_action_steps <= chunk_size"]})
    s.suggest("t2")
    s.on_trial_complete("t2", {"eval/success": 0.5})
    first, second = s._ot_study.get_trials()
    assert first.state == optuna.trial.TrialState.PRUNED
    assert first.constraints == {"n_action_steps <= chunk_size": 1.0}  # TPE ranks it below every feasible trial
    assert second.state == optuna.trial.TrialState.COMPLETE and second.value == 0.5 and not second.constraints
    assert not tell_infeasible(s, "t2", {M.INFEASIBLE: True})  # a trial is told once


def test_repeats_share_one_suggestion_and_tell_the_searcher_the_mean():
    s = Repeats(_searcher(), repeat=2)
    s.set_search_properties("eval/success", "max", {"optimizer.lr": tune.loguniform(1e-4, 1e-2)})
    a, b, c = s.suggest("t1"), s.suggest("t2"), s.suggest("t3")
    assert a["optimizer.lr"] == b["optimizer.lr"] != c["optimizer.lr"]
    assert (a["__trial_index__"], b["__trial_index__"], c["__trial_index__"]) == (0, 1, 0)
    assert a[CONFIG_ID] == b[CONFIG_ID] == "t1" and c[CONFIG_ID] == "t3"
    s.on_trial_complete("t1", {"eval/success": 0.2})
    assert not s.searcher._ot_study.get_trials(states=[optuna.trial.TrialState.COMPLETE])  # waits for both seeds
    s.on_trial_complete("t2", {"eval/success": 0.6})
    done = s.searcher._ot_study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(done) == 1 and done[0].value == pytest.approx(0.4)
    s.suggest("t4")
    s.on_trial_complete("t3", {M.INFEASIBLE: True, M.VIOLATED: ["c"]})
    s.on_trial_complete("t4", {M.INFEASIBLE: True, M.VIOLATED: ["c"]})
    assert s.searcher._ot_study.get_trials()[1].constraints == {"c": 1.0}


def test_repeats_keep_their_groups_across_a_resume(tmp_path):
    """Saved with one seed of a config finished: after the restore, the other seed's result completes the config,
    and the searcher is told the mean (Ray's Repeater alone loses the groups and never tells it)."""
    space = {"optimizer.lr": tune.loguniform(1e-4, 1e-2)}
    s = Repeats(_searcher(), repeat=2)
    s.set_search_properties("eval/success", "max", space)
    s.suggest("t1"), s.suggest("t2")
    s.on_trial_complete("t1", {"eval/success": 0.2})
    s.save(str(tmp_path / "searcher.pkl"))
    restored = Repeats(_searcher(), repeat=2)
    restored.set_search_properties("eval/success", "max", space)
    restored.restore(str(tmp_path / "searcher.pkl"))
    restored.on_trial_complete("t2", {"eval/success": 0.6})
    done = restored.searcher._ot_study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(done) == 1 and done[0].value == pytest.approx(0.4)
    assert restored.suggest("t3")[CONFIG_ID] == "t3"  # the next config starts a new group


def test_search_alg_per_search_mode():
    space, _ = split_space(either(), {})
    assert isinstance(search_algorithm(TuneConfig(repeats=3), 2, space), Repeats)
    random_conditional = search_algorithm(TuneConfig(search="random"), 2, space)
    assert isinstance(random_conditional, OptunaOnEvaluations)
    assert isinstance(random_conditional._sampler, optuna.samplers.RandomSampler)
    plain_random = search_algorithm(TuneConfig(search="random"), 2, {"steps": tune.choice([10, 20])})
    assert isinstance(plain_random._sampler, optuna.samplers.RandomSampler)  # each config once (search/untried.py)
    grid = {"steps": tune.grid_search([10, 20])}
    assert type(search_algorithm(TuneConfig(search="random"), 2, grid)).__name__ == "BasicVariantGenerator"
    assert type(search_algorithm(TuneConfig(search="grid"), 2, grid)).__name__ == "BasicVariantGenerator"
    pbt = TuneConfig(search="random", scheduler="pbt")  # Tune refuses a Searcher beside PBT
    assert type(search_algorithm(pbt, 2, {"steps": tune.choice([10, 20])})).__name__ == "BasicVariantGenerator"


def test_the_repeat_index_offsets_the_seed_and_names_the_config():
    space, base = split_space(either(), {})
    cfg = from_sample(base, {"policy.type": "diffusion", "__trial_index__": 2, CONFIG_ID: "abc"})
    assert cfg.seed == TrainPipelineConfig().seed + 2
    assert config_id_of({"x": 1, "__trial_index__": 1, CONFIG_ID: "abc"}) == "abc"
    grid = config_id_of({"x": 1, "__trial_index__": 0})
    assert grid == config_id_of({"x": 1, "__trial_index__": 1}) != config_id_of({"x": 2, "__trial_index__": 0})
    assert config_id_of({"x": 1}) is None


def _row(tid, lr, index, config, loss):
    last = {M.STEP: 10, M.TRAIN_LOSS: loss, M.CHECKPOINT_PATH: f"/c/{tid}"}
    return trial_row(
        tid,
        "finished",
        {"optimizer.lr": lr, "__trial_index__": index, CONFIG_ID: config},
        [last],
        last,
        M.TRAIN_LOSS,
        "min",
    )


def test_configs_rank_by_their_mean_over_seeds_with_the_spread():
    # config A has the single best seed (0.1) but the worse mean (0.1, 0.9 -> 0.5); B: 0.3, 0.4 -> 0.35
    rows = [
        _row("a0", 1e-3, 0, "A", 0.1),
        _row("a1", 1e-3, 1, "A", 0.9),
        _row("b0", 1e-4, 0, "B", 0.3),
        _row("b1", 1e-4, 1, "B", 0.4),
    ]
    infeasible = trial_row(
        "x0",
        "finished",
        {"optimizer.lr": 1.0, "__trial_index__": 0, CONFIG_ID: "X"},
        [{M.INFEASIBLE: True, M.VIOLATED: ["c"], M.STEP: 0}],
        {M.INFEASIBLE: True, M.STEP: 0},
        M.TRAIN_LOSS,
        "min",
    )
    ranked = rank([*rows, infeasible], M.TRAIN_LOSS, "min")
    assert [r.trial_id for r in ranked] == ["b0", "b1", "a0", "a1", "x0"]
    assert ranked[0].over_seeds == pytest.approx(
        {"n": 2, "mean": 0.35, "std": 0.0707107, "min": 0.3, "max": 0.4}, rel=1e-4
    )
    assert ranked[0].params == {"optimizer.lr": 1e-4}  # the bookkeeping keys are not searched fields
    assert ranked[-1].status == "infeasible" and ranked[-1].violated == ["c"] and ranked[-1].best is None
    table = markdown_table(ranked, M.TRAIN_LOSS)
    assert "| config | seed # |" in table and f"mean {M.TRAIN_LOSS} over seeds | std | min - max |" in table
    assert "| 1 | b0 | finished | B | 0 | 0.0001 | 0.3 | 0.35 | 0.07071 | 0.3 - 0.4 |" in table
    assert "infeasible (c)" in table
    configs = config_summaries(ranked)
    assert [c["config_id"] for c in configs] == ["B", "A", "X"] and configs[0]["trials"] == ["b0", "b1"]
    assert ranked[0].summary()["over_seeds"]["mean"] == pytest.approx(0.35)


SPACE_FILE = """
from ray import tune
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import Sweep
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.diffusion.configuration import DiffusionConfig

sweep = Sweep(
    base=TrainPipelineConfig(policy=tune.choice([
        ACTConfig(dim_model=tune.choice([32, 64]), n_heads=2),
        DiffusionConfig(horizon=tune.choice([8, 16]), down_dims=(32, 64), n_action_steps=4),
    ])),
    defaults=DEFAULTS,
)
"""
