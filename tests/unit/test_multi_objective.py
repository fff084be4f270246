"""Several objectives: the config, Optuna's multi-objective study behind Tune's searcher, the Pareto front and the
choice of best/ from it (known answers), and the policy costs (parameters, latency) a sweep can trade."""
from __future__ import annotations

import optuna
import pytest
import torch
from ray import tune

from orchestrator.search.algorithms import search_algorithm
from orchestrator import metrics as M
from orchestrator.candidates import Candidate
from orchestrator.configs.tune import TuneConfig
from orchestrator.confirm import Confirmed
from orchestrator.pareto import Front, choose, dominates, pareto_front, search_interval
from orchestrator.policies.costs import blank_observation, describe, n_params, policy_costs, single_observation
from orchestrator.report import TrialRow
from tests.unit.test_policies import raw_observation, tiny_policy

LATENCY = [(M.EVAL_SUCCESS, "max"), (M.POLICY_LATENCY_MS, "min")]


def row(tid: str, success: float, low: float, high: float, latency: float) -> TrialRow:
    best = Candidate(tid, 100, {M.EVAL_SUCCESS: success, M.EVAL_SUCCESS_LOW: low, M.EVAL_SUCCESS_HIGH: high},
                     f"/ckpt/{tid}")
    return TrialRow(tid, "finished", {}, {M.POLICY_LATENCY_MS: latency}, best, [best])


# A: most successful, slow.  B: as successful within the noise, 5x faster.  C: fastest, clearly less successful.
# D: dominated by A (less successful and slower).  E: reported no latency (not on the front).
A, B, C = row("a", 0.90, 0.60, 0.98, 10.0), row("b", 0.85, 0.55, 0.97, 2.0), row("c", 0.20, 0.05, 0.45, 1.0)
D, E = row("d", 0.80, 0.50, 0.95, 12.0), TrialRow("e", "finished", {}, {}, None)


def test_dominance_needs_better_somewhere_and_worse_nowhere():
    assert dominates([0.9, 10.0], [0.8, 12.0], ["max", "min"])
    assert not dominates([0.9, 10.0], [0.85, 2.0], ["max", "min"])
    assert not dominates([0.9, 10.0], [0.9, 10.0], ["max", "min"])  # equal: neither dominates


def test_the_front_is_every_undominated_trial_in_rank_order():
    assert [r.trial_id for r in pareto_front([A, D, B, C, E], LATENCY)] == ["a", "b", "c"]


def test_best_is_the_fastest_of_the_trials_as_successful_as_the_best_within_the_noise():
    front = pareto_front([A, D, B, C], LATENCY)
    chosen, tied = choose(front, LATENCY, lambda r: search_interval(r, M.EVAL_SUCCESS))
    assert chosen is B and [r.trial_id for r in tied] == ["a", "b"]  # C's interval does not reach A's


def test_with_narrow_intervals_the_most_successful_wins():
    a, b = row("a", 0.90, 0.88, 0.92, 10.0), row("b", 0.85, 0.83, 0.87, 2.0)
    chosen, tied = choose(pareto_front([a, b], LATENCY), LATENCY, lambda r: search_interval(r, M.EVAL_SUCCESS))
    assert chosen is a and tied == [a]


def test_the_confirmation_decides_the_tie():
    """Confirmed on fresh episodes, B's success is clearly below A's: A is chosen, though faster B tied in search."""
    def confirmed(r: TrialRow, successes: int) -> Confirmed:
        from orchestrator.stats import wilson_interval

        return Confirmed(r.trial_id, r.best, successes, 50, successes / 50, wilson_interval(successes, 50),
                         (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))

    front = Front(LATENCY, [A, D, B, C])
    assert front.choose_in_search() is B
    pick = front.choose_confirmed([confirmed(A, 49), confirmed(B, 30)])
    assert pick.label == "a" and front.chosen is A and front.confirmed
    summary = front.summary()
    assert summary["chosen"] == "a" and [m["trial_id"] for m in summary["members"]] == ["a", "b", "c"]
    assert summary["members"][1]["values"] == {M.EVAL_SUCCESS: 0.85, M.POLICY_LATENCY_MS: 2.0}
    assert "confirmed on fresh episodes" in summary["rule"]


@pytest.mark.parametrize("tune_fields, field", [
    (dict(metric=[M.EVAL_SUCCESS, M.POLICY_LATENCY_MS], mode="max"), "mode"),
    (dict(metric=[M.EVAL_SUCCESS, M.POLICY_LATENCY_MS], mode=["max"]), "mode"),
    (dict(metric=[M.EVAL_SUCCESS, M.EVAL_SUCCESS], mode=["max", "max"]), "metric"),
    (dict(metric=[M.EVAL_SUCCESS, "policy/speed"], mode=["max", "min"]), "metric"),
    (dict(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "least"]), "mode"),
    (dict(metric=[], mode=[]), "metric"),
    (dict(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "min"], repeats=2), "repeats"),
    (dict(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "min"], warm_start="old"), "warm_start"),
])
def test_bad_objectives_name_the_field(tune_fields, field):
    assert field in [p.field for p in TuneConfig(**tune_fields).problems()]


def test_one_metric_and_a_list_of_one_mean_the_same():
    assert TuneConfig(metric=[M.TRAIN_LOSS], mode=["min"]).objectives == TuneConfig(M.TRAIN_LOSS, "min").objectives
    t = TuneConfig(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "min"])
    assert not t.problems() and t.multi_objective and (t.rank_metric, t.rank_mode) == (M.EVAL_SUCCESS, "max")


def test_optuna_gets_every_objective_though_tune_passes_only_the_first():
    """Tune hands the searcher the schedulers' metric (the first objective); the study keeps one direction per
    objective, and each finished trial is told all its values."""
    t = TuneConfig(metric=[M.EVAL_SUCCESS, M.POLICY_LATENCY_MS], mode=["max", "min"], seed=3)
    space = {"optimizer.lr": tune.loguniform(1e-4, 1e-2)}
    searcher = search_algorithm(t, 1, space)
    searcher.set_search_properties(t.rank_metric, t.rank_mode, space)
    study = searcher._ot_study
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    for i, (success, latency) in enumerate([(0.5, 3.0), (0.7, 9.0)]):
        assert searcher.suggest(f"t{i}")["optimizer.lr"] > 0
        searcher.on_trial_result(f"t{i}", {M.TRAIN_LOSS: 1.0})  # a report without the objectives is passed over
        searcher.on_trial_complete(f"t{i}", {M.EVAL_SUCCESS: success, M.POLICY_LATENCY_MS: latency})
    assert [t.values for t in study.trials] == [[0.5, 3.0], [0.7, 9.0]]
    assert len(study.best_trials) == 2  # both on Optuna's own Pareto front


def test_policy_costs_measure_the_real_inference_path_and_leave_the_rng_alone():
    policy = tiny_policy("act")
    policy.train()
    torch.manual_seed(7)
    costs = policy_costs(policy, raw_observation(1), torch.device("cpu"))
    after = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(after, torch.rand(3))  # measuring drew no random numbers from the training RNG
    assert policy.training and not policy._action_queue  # back in training mode, nothing queued
    assert costs[M.POLICY_N_PARAMS] == n_params(policy) == sum(p.numel() for p in policy.parameters())
    # one model query per n_action_steps actions: the mean per action is below one query's time
    assert 0 < costs[M.POLICY_LATENCY_MS] < costs[M.POLICY_CHUNK_MS]
    bigger = tiny_policy("act", dim_model=64, dim_feedforward=256)
    assert policy_costs(bigger, raw_observation(1), torch.device("cpu"))[M.POLICY_N_PARAMS] > costs[M.POLICY_N_PARAMS]


def test_costs_of_a_saved_policy_need_no_data():
    """`eval` measures a loaded policy on zeros of its input features (its compute does not depend on the values)."""
    policy = tiny_policy("act")
    blank = blank_observation(policy)
    assert {k: tuple(v.shape) for k, v in blank.items()} == {"observation.state": (1, 2),
                                                             "observation.environment_state": (1, 16)}
    costs = policy_costs(policy, blank, torch.device("cpu"))
    assert costs[M.POLICY_N_PARAMS] == n_params(policy) and costs[M.POLICY_LATENCY_MS] > 0
    assert describe(costs, torch.device("cpu")).startswith(f"{n_params(policy):,} parameters; select_action ")


def test_a_dataset_sample_with_a_history_gives_its_last_frame():
    policy = tiny_policy("act")
    sample = {"observation.state": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),  # two frames
              "observation.environment_state": torch.zeros(16), "action": torch.zeros(5, 2)}
    obs = single_observation(sample, policy)
    assert set(obs) == {"observation.state", "observation.environment_state"}
    assert obs["observation.state"].tolist() == [[3.0, 4.0]] and obs["observation.environment_state"].shape == (1, 16)


def test_a_conditional_space_is_searched_on_every_objective_too():
    """policy.type sampled define-by-run (orchestrator/conditional.py) with two objectives: one study, two
    directions, each finished trial told both values; an infeasible sample still counts as infeasible."""
    from orchestrator.space import split_space
    from tests.unit.test_space_rules import either

    space, _ = split_space(either(), {})
    t = TuneConfig(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "min"], seed=1)
    searcher = search_algorithm(t, 1, space)
    searcher.set_search_properties(t.rank_metric, t.rank_mode, {})
    assert len(searcher._ot_study.directions) == 2
    assert "policy.type" in searcher.suggest("t1")
    searcher.on_trial_complete("t1", {M.EVAL_SUCCESS: 0.5, M.POLICY_N_PARAMS: 1000})
    searcher.suggest("t2")
    searcher.on_trial_complete("t2", {M.INFEASIBLE: True, M.VIOLATED: ["c"]})
    first, second = searcher._ot_study.trials
    assert first.values == [0.5, 1000] and second.state == optuna.trial.TrialState.PRUNED
