"""The private state of Ray's OptunaSearch and Repeater that the sweep's searcher reads (orchestrator/search/
optuna_glue.py) is where the glue looks for it: a Ray or Optuna that renames an attribute fails here first, by name,
rather than deep inside a sweep. Driven directly on the searcher a sweep builds, no Ray cluster."""

from __future__ import annotations

import optuna
from ray import tune

from orchestrator import metrics as M
from orchestrator.configs.tune import TuneConfig
from orchestrator.search.algorithms import search_algorithm
from orchestrator.search.optuna_glue import (
    asked_trials,
    config_group,
    distributions,
    intermediate_values,
    study,
    told_trials,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = {"policy.chunk_size": tune.choice([4, 8, 16])}


def searcher(repeats: int = 1):
    t = TuneConfig(metric=M.EVAL_SUCCESS, mode="max", repeats=repeats)
    s = search_algorithm(t, 1, SPACE)
    s.set_search_properties(t.rank_metric, t.rank_mode, SPACE)
    return s


def test_the_study_its_asked_trials_and_the_space_of_an_optuna_searcher():
    s = searcher()
    config = s.suggest("a")
    assert isinstance(study(s), optuna.Study) and isinstance(distributions(s), dict)
    assert isinstance(distributions(s)["policy.chunk_size"], optuna.distributions.CategoricalDistribution)
    asked = asked_trials(s)["a"]
    assert asked.params == config and [t.number for t in study(s).get_trials()] == [asked.number]
    asked_trials(s).pop("a")  # the searcher's own dict: popped, the searcher asks the study anew
    s.suggest("a")
    assert asked_trials(s)["a"].number == asked.number + 1


def test_the_values_reported_for_a_trial_and_the_trials_told():
    s = searcher()
    s.suggest("a")
    s.on_trial_result("a", {M.EVAL_SUCCESS: 0.5, M.STEP: 10})
    assert intermediate_values(asked_trials(s)["a"]) == {10: 0.5}
    s.on_trial_result("a", {M.EVAL_SUCCESS: 0.7, M.STEP: 10})  # a step told again (a resumed run): passed over
    assert intermediate_values(asked_trials(s)["a"]) == {10: 0.5}
    assert "a" not in told_trials(s)
    s.on_trial_complete("a", {M.EVAL_SUCCESS: 0.5})
    assert told_trials(s) == {"a"} and study(s).get_trials()[0].state == optuna.trial.TrialState.COMPLETE


def test_the_group_of_a_repeated_config():
    s = searcher(repeats=2)
    s.suggest("a")
    s.suggest("b")  # the same config, the second seed
    assert config_group(s, "a") is config_group(s, "b") and config_group(s, "a").primary_trial_id == "a"
    assert config_group(s, "unknown") is None
