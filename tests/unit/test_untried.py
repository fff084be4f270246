"""No compute spent twice: the Optuna searcher suggests a config once (a warm start's runs of this sweep's configs,
this sweep's own trials, across a resume, each seed of --tune.repeats its own), and a warm start reuses the earlier
baseline when it is this sweep's baseline run. Driven directly, no Ray cluster."""

from __future__ import annotations

import optuna
import pytest
from ray import tune

from orchestrator import metrics as M
from orchestrator.configs.parsing import build_config, encode
from orchestrator.configs.tune import TuneConfig
from orchestrator.results.candidates import Candidate
from orchestrator.results.rows import TrialRow
from orchestrator.results.seeds import TRIAL_INDEX
from orchestrator.search.algorithms import search_algorithm
from orchestrator.search.untried import config_key, listed_configs
from orchestrator.search.warm_start import WarmStart, baseline_problem, same_run

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = {"policy.chunk_size": tune.choice([4, 8, 16]), "policy.kl_weight": tune.choice([1.0, 10.0])}  # 6 configs


def searcher(warm: WarmStart | None = None, repeats: int = 1):
    t = TuneConfig(metric=M.EVAL_SUCCESS, mode="max", repeats=repeats)
    s = search_algorithm(t, 1, SPACE, warm)
    s.set_search_properties(t.rank_metric, t.rank_mode, SPACE)
    return s


def run(s, trial_ids: list[str]) -> list:
    """Suggest one trial per id, each told a result at once (as trials finishing one at a time)."""
    out = []
    for i, trial_id in enumerate(trial_ids):
        config = s.suggest(trial_id)
        out.append(config)
        if isinstance(config, dict):
            s.on_trial_complete(trial_id, {M.EVAL_SUCCESS: 0.1 * i})
    return out


def test_a_warm_started_tpe_never_suggests_a_told_config_in_a_small_discrete_space():
    """The issue: an earlier sweep's 3 trials (TPE's seeded random start), told to a new sweep with the same seed,
    were trained again value for value. Told as this sweep's very runs, they are never suggested: the new sweep
    trains the 3 other configs, then its search ends (every config evaluated)."""
    earlier = run(searcher(), ["e0", "e1", "e2"])
    told = {"points": earlier, "rewards": [0.2, 0.6, 0.4], "skipped": 0}
    # Runs of another config (other steps, say) are told all the same and may be trained: TPE draws them again.
    assert run(searcher(WarmStart("old", **told)), ["t0", "t1", "t2"]) == earlier
    suggested = run(searcher(WarmStart("old", **told, evaluated=earlier)), [f"t{i}" for i in range(5)])
    new = suggested[:3]
    assert suggested[3:] == ["FINISHED", "FINISHED"]
    assert len({config_key(c) for c in earlier + new}) == 6  # all 6 configs, each once


def test_each_config_and_seed_is_trained_once_within_a_sweep_and_across_a_resume(tmp_path):
    """With --tune.repeats=2 the searcher sees a config once and its 2 seeds are 2 trials; a resumed searcher
    remembers what it suggested. 6 configs x 2 seeds = 12 trials, then the search ends."""
    s = searcher(repeats=2)
    first = run(s, [f"t{i}" for i in range(5)])  # the 5th trial is the 1st seed of config 3, its 2nd comes later
    s.save(str(tmp_path / "searcher.pkl"))
    restored = searcher(repeats=2)
    restored.restore(str(tmp_path / "searcher.pkl"))
    rest = run(restored, [f"t{i}" for i in range(5, 14)])
    trials = [c for c in first + rest if isinstance(c, dict)]
    assert rest[-2:] == ["FINISHED", "FINISHED"] and len(trials) == 12
    runs = {(config_key({k: v for k, v in c.items() if k in SPACE}), c[TRIAL_INDEX]) for c in trials}
    assert len(runs) == 12  # every (config, seed) once


def test_after_its_random_start_tpe_repeats_itself_and_untried_configs_are_drawn_instead():
    """Past its 10 random samples, TPE in a 16-config space keeps proposing the configs it believes best: each
    config is still trained once, and the search ends when none is left."""
    space = {"policy.chunk_size": tune.choice([4, 8, 16, 32]), "policy.n_action_steps": tune.choice([1, 2, 3, 4])}
    s = search_algorithm(TuneConfig(metric=M.EVAL_SUCCESS, mode="max"), 1, space)
    s.set_search_properties(M.EVAL_SUCCESS, "max", space)
    suggested = []
    for i in range(18):
        config = s.suggest(f"t{i}")
        suggested.append(config)
        if isinstance(config, dict):  # the larger both, the better: TPE soon knows where to look
            s.on_trial_complete(
                f"t{i}", {M.EVAL_SUCCESS: config["policy.chunk_size"] * config["policy.n_action_steps"]}
            )
    assert len({config_key(c) for c in suggested[:16]}) == 16 and suggested[16:] == ["FINISHED", "FINISHED"]


def test_random_search_trains_each_config_once_where_tunes_own_generator_repeats_them():
    """Issue 17: Tune's BasicVariantGenerator draws with replacement (6 draws from these 6 configs repeat some);
    random search goes through Optuna's RandomSampler behind the same once-only searcher: 6 configs, then the end."""
    from ray.tune.search import BasicVariantGenerator

    t = TuneConfig(metric=M.EVAL_SUCCESS, mode="max", search="random", seed=3)
    s = search_algorithm(t, 1, SPACE)
    assert not isinstance(s, BasicVariantGenerator)
    s.set_search_properties(t.rank_metric, t.rank_mode, SPACE)
    suggested = run(s, [f"t{i}" for i in range(8)])
    assert len({config_key(c) for c in suggested[:6]}) == 6 and suggested[6:] == ["FINISHED", "FINISHED"]

    import numpy as np
    from ray.tune.search.variant_generator import generate_variants  # what Tune's generator draws with

    rng = np.random.RandomState(3)
    drawn = [next(generate_variants(dict(SPACE), random_state=rng))[1] for _ in range(6)]
    assert len({config_key(c) for c in drawn}) < 6  # what the change removes: 6 draws repeat some of the 6 configs


def test_only_small_discrete_spaces_are_listed():
    from ray.tune.search.optuna import OptunaSearch

    listed = listed_configs(
        OptunaSearch.convert_search_space(
            {"a": tune.choice(["x", "y"]), "b": tune.randint(1, 4), "c": tune.quniform(0.0, 1.0, 0.5)}
        )
    )
    assert len(listed) == 2 * 3 * 3 and {"a": "y", "b": 3, "c": 1.0} in listed
    assert listed_configs(OptunaSearch.convert_search_space({"lr": tune.loguniform(1e-4, 1e-2)})) is None
    assert listed_configs(OptunaSearch.convert_search_space({"n": tune.randint(0, 10**9)})) is None
    assert config_key({"a": 64, "b": (1, 2)}) == config_key({"b": [1, 2], "a": 64.0})


def test_the_earlier_baseline_is_reused_only_when_it_is_this_sweeps_run(tmp_path):
    cfg = build_config(None, [])
    saved = encode(cfg)
    # where and how it was recorded does not make another run; the seed or the budget do
    assert same_run({**saved, "output_dir": "/elsewhere", "wandb": {**saved["wandb"], "group": "old"}}, cfg)
    assert not same_run({**saved, "seed": cfg.seed + 1}, cfg) and not same_run({**saved, "steps": 10}, cfg)
    assert not same_run(None, cfg) and not same_run({"steps": "many"}, cfg)

    checkpoint = tmp_path / "checkpoint_1"
    checkpoint.mkdir()
    best = Candidate("b1", 100, {M.EVAL_SUCCESS: 0.5}, str(checkpoint))
    row = TrialRow("b1", "finished", {}, {M.STEP: 100}, best, [best])
    assert baseline_problem(row, saved, cfg, M.EVAL_SUCCESS) is None
    assert "config or seed" in baseline_problem(row, {**saved, "seed": 7}, cfg, M.EVAL_SUCCESS)
    assert "error" in baseline_problem(TrialRow("b1", "error", {}, {}, best, [best]), saved, cfg, M.EVAL_SUCCESS)
    assert "no checkpoint" in baseline_problem(TrialRow("b1", "finished", {}, {}, None), saved, cfg, M.EVAL_SUCCESS)
    assert baseline_problem(None, None, cfg, M.EVAL_SUCCESS) == "that sweep has no baseline"
    checkpoint.rmdir()
    assert "not there any more" in baseline_problem(row, saved, cfg, M.EVAL_SUCCESS)


@pytest.mark.parametrize(
    "repeats, offsets, evaluated", [(1, [0], True), (2, [0], False), (2, [1, 0], True), (1, [1], False)]
)
def test_a_warm_start_config_is_evaluated_when_each_of_its_seeds_here_ran_there(repeats, offsets, evaluated):
    """An earlier trial stands for the repeat index whose seed it trained with (seed + index); a config counts as
    evaluated when every seed this sweep gives it (--tune.repeats) ran there."""
    from types import SimpleNamespace

    from orchestrator.search.space import from_sample
    from orchestrator.search.warm_start import evaluated_points

    base, space = encode(build_config(None, [])), {"steps": tune.choice([10, 20])}
    rows = [TrialRow(f"e{i}", "finished", {"steps": 10}, {}, None) for i in range(len(offsets))]
    configs = {f"e{i}": {**base, "steps": 10, "seed": base["seed"] + o} for i, o in enumerate(offsets)}
    found = evaluated_points(
        SimpleNamespace(rows=rows, configs=configs), space, lambda sample: from_sample(base, sample), repeats
    )
    assert found == ([{"steps": 10}] if evaluated else [])
