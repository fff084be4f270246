"""Several objectives: the config, Optuna's multi-objective study behind Tune's searcher, the Pareto front and the
choice of best/ from it (known answers), and the policy costs (parameters, latency) a sweep can trade."""

from __future__ import annotations

import optuna
import pytest
import torch
from ray import tune

from orchestrator import metrics as M
from orchestrator.configs.tune import TuneConfig
from orchestrator.policies.costs import blank_observation, describe, n_params, policy_costs, single_observation
from orchestrator.results.candidates import Candidate
from orchestrator.results.confirmation import decide, plan_for
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.pareto import Front, choose, dominates, later_interval, pareto_front, search_equivalent
from orchestrator.results.rows import TrialRow
from orchestrator.results.stats import mean_interval, wilson_interval
from orchestrator.search.algorithms import search_algorithm
from tests.unit.test_policies import raw_observation, tiny_policy

LATENCY = [(M.EVAL_SUCCESS, "max"), (M.POLICY_LATENCY_MS, "min")]


def row(
    tid: str,
    success: float,
    low: float,
    high: float,
    latency: float,
    n: int | None = None,
    latency_ci: tuple[float, float] | None = None,
) -> TrialRow:
    metrics = {
        M.EVAL_SUCCESS: success,
        M.EVAL_SUCCESS_LOW: low,
        M.EVAL_SUCCESS_HIGH: high,
        **({M.EVAL_N_EPISODES: n} if n else {}),
    }
    best = Candidate(tid, 100, metrics, f"/ckpt/{tid}")
    costs = {M.POLICY_LATENCY_MS: latency}
    if latency_ci:
        costs |= {M.POLICY_LATENCY_LOW: latency_ci[0], M.POLICY_LATENCY_HIGH: latency_ci[1]}
    return TrialRow(tid, "finished", {}, costs, best, [best])


def confirmed(label: str, outcomes: list[bool]) -> Confirmed:
    """A confirmation of `label` on the episodes 1000000.. with these successes."""
    n, s = len(outcomes), sum(outcomes)
    episodes = [(1_000_000 + i, bool(x), float(x), float(x)) for i, x in enumerate(outcomes)]
    return Confirmed(
        label,
        Candidate(label, 100, {}, f"/ckpt/{label}"),
        s,
        n,
        s / n,
        wilson_interval(s, n),
        mean_interval([float(x) for x in outcomes]),
        mean_interval([float(x) for x in outcomes]),
        episodes,
    )


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


def _in_search(front, margin=0.1):
    return choose(
        front,
        LATENCY,
        lambda r: r.value(M.EVAL_SUCCESS),
        lambda top, r: search_equivalent(top, r, M.EVAL_SUCCESS, margin, 0.05),
    )


def test_overlapping_intervals_are_not_as_good():
    """A's and B's search intervals overlap, but nothing shows B equivalent to A: A, the most successful, is kept."""
    front = pareto_front([A, D, B, C], LATENCY)
    chosen, tied, _ = _in_search(front)
    assert chosen is A and tied == [A]


def test_equivalent_in_the_search_and_faster_beyond_the_noise_wins():
    """On 400 search episodes each, 90 % and 89 % are equivalent within 10 points (TOST on the counts); B's latency
    interval lies wholly below A's, so B is chosen. With overlapping latency intervals A is kept."""
    a = row("a", 0.90, 0.87, 0.93, 10.0, n=400, latency_ci=(9.5, 10.5))
    b = row("b", 0.89, 0.86, 0.92, 2.0, n=400, latency_ci=(1.9, 2.1))
    chosen, tied, why = _in_search([a, b])
    assert chosen is b and tied == [a, b] and "beyond its measurement noise" in why[0]
    slow_b = row("b", 0.89, 0.86, 0.92, 9.0, n=400, latency_ci=(7.0, 11.0))
    chosen, tied, why = _in_search([a, slow_b])
    assert chosen is a and tied == [a, slow_b] and "intervals overlap" in why[0]
    assert later_interval(a, M.POLICY_LATENCY_MS) == (10.0, 9.5, 10.5)
    assert later_interval(A, M.POLICY_LATENCY_MS) == (10.0, 10.0, 10.0)  # no interval reported: a point


def test_with_narrow_intervals_the_most_successful_wins():
    a, b = row("a", 0.90, 0.88, 0.92, 10.0), row("b", 0.85, 0.83, 0.87, 2.0)
    chosen, tied, _ = _in_search(pareto_front([a, b], LATENCY))
    assert chosen is a and tied == [a]


def test_the_issue_case_75_against_50_percent_is_not_decided_by_a_latency_edge():
    """Issue 17.5: on 20 confirmation episodes, a front member at 75 % and one at 50 % (intervals overlapping), the
    latter 0.03 ms faster on a timing with no separation. best/ must be the 75 % one, and the rule says why."""
    fast = row("fast", 0.5, 0.3, 0.7, 0.225, latency_ci=(0.20, 0.25))
    slow = row("slow", 0.75, 0.53, 0.89, 0.257, latency_ci=(0.23, 0.28))
    front = Front(LATENCY, [slow, fast], margin=0.1)
    outcomes = {"slow": [True] * 15 + [False] * 5, "fast": [False] * 10 + [True] * 10}  # 5 episodes both solve
    trials = [confirmed(r.trial_id, outcomes[r.trial_id]) for r in front.members]
    decision = decide(
        trials, M.EVAL_SUCCESS, "max", plan_for(2, False, 20, 0), margin=0.1, choose=front.choose_confirmed
    )
    assert decision.leader == "slow" and front.chosen is slow and front.tied == [slow]
    assert "no other front member is shown equivalent" in front.rule()
    assert decision.status == {"fast": "undecided"} and not decision.distinguishable
    assert "the choice among them is not evidence" in decision.choice_sentence()


def test_the_confirmation_decides_and_an_equivalent_faster_member_wins_beyond_the_noise():
    """Confirmed on the same 300 episodes with identical outcomes but one, A and B are equivalent within 10 points
    (paired TOST); B's latency interval lies below A's: B. Where B's success is clearly lower, A."""
    a = row("a", 0.90, 0.60, 0.98, 10.0, latency_ci=(9.0, 11.0))
    b = row("b", 0.85, 0.55, 0.97, 2.0, latency_ci=(1.5, 2.5))
    same = [i % 10 != 0 for i in range(300)]
    front = Front(LATENCY, [a, b], margin=0.1)
    decision = decide(
        [confirmed("a", same), confirmed("b", [False] + same[1:])],
        M.EVAL_SUCCESS,
        "max",
        plan_for(2, False, 300, 0),
        margin=0.1,
        choose=front.choose_confirmed,
    )
    assert decision.status == {"b": "equivalent"} and decision.leader == "b" and front.chosen is b
    assert decision.distinguishable and "equivalent within +-0.1" in front.rule()
    summary = front.summary()
    assert summary["chosen"] == "b" and summary["confirmed"] and summary["equivalence_margin"] == 0.1
    assert summary["members"][1]["intervals"][M.POLICY_LATENCY_MS] == [2.0, 1.5, 2.5]
    front = Front(LATENCY, [a, b], margin=0.1)
    decision = decide(
        [confirmed("a", same), confirmed("b", [i % 2 == 0 for i in range(300)])],
        M.EVAL_SUCCESS,
        "max",
        plan_for(2, False, 300, 0),
        margin=0.1,
        choose=front.choose_confirmed,
    )
    assert decision.status == {"b": "worse"} and decision.leader == "a" and front.chosen is a


@pytest.mark.parametrize(
    "tune_fields, field",
    [
        (dict(metric=[M.EVAL_SUCCESS, M.POLICY_LATENCY_MS], mode="max"), "mode"),
        (dict(metric=[M.EVAL_SUCCESS, M.POLICY_LATENCY_MS], mode=["max"]), "mode"),
        (dict(metric=[M.EVAL_SUCCESS, M.EVAL_SUCCESS], mode=["max", "max"]), "metric"),
        (dict(metric=[M.EVAL_SUCCESS, "policy/speed"], mode=["max", "min"]), "metric"),
        (dict(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "least"]), "mode"),
        (dict(metric=[], mode=[]), "metric"),
        (dict(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "min"], repeats=2), "repeats"),
        (dict(metric=[M.EVAL_SUCCESS, M.POLICY_N_PARAMS], mode=["max", "min"], warm_start="old"), "warm_start"),
    ],
)
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
    # one model query per n_action_steps actions: the mean per action is below one query's time (within their
    # intervals: both are measured, and on a loaded machine a single mean can land either way)
    assert 0 < costs[M.POLICY_LATENCY_LOW] < costs[M.POLICY_CHUNK_HIGH]
    # timings are measurements: each carries its 95 % interval over the repeated cycles
    assert costs[M.POLICY_LATENCY_LOW] <= costs[M.POLICY_LATENCY_MS] <= costs[M.POLICY_LATENCY_HIGH]
    assert costs[M.POLICY_CHUNK_LOW] <= costs[M.POLICY_CHUNK_MS] <= costs[M.POLICY_CHUNK_HIGH]
    assert set(M.policy_costs_of(costs)) == set(M.POLICY_COSTS)
    bigger = tiny_policy("act", dim_model=64, dim_feedforward=256)
    assert policy_costs(bigger, raw_observation(1), torch.device("cpu"))[M.POLICY_N_PARAMS] > costs[M.POLICY_N_PARAMS]


def test_costs_of_a_saved_policy_need_no_data():
    """`eval` measures a loaded policy on zeros of its input features (its compute does not depend on the values)."""
    policy = tiny_policy("act")
    blank = blank_observation(policy)
    assert {k: tuple(v.shape) for k, v in blank.items()} == {
        "observation.state": (1, 2),
        "observation.environment_state": (1, 16),
    }
    costs = policy_costs(policy, blank, torch.device("cpu"))
    assert costs[M.POLICY_N_PARAMS] == n_params(policy) and costs[M.POLICY_LATENCY_MS] > 0
    assert describe(costs, torch.device("cpu")).startswith(f"{n_params(policy):,} parameters; select_action ")


def test_a_dataset_sample_with_a_history_gives_its_last_frame():
    policy = tiny_policy("act")
    sample = {
        "observation.state": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),  # two frames
        "observation.environment_state": torch.zeros(16),
        "action": torch.zeros(5, 2),
    }
    obs = single_observation(sample, policy)
    assert set(obs) == {"observation.state", "observation.environment_state"}
    assert obs["observation.state"].tolist() == [[3.0, 4.0]] and obs["observation.environment_state"].shape == (1, 16)


def test_a_conditional_space_is_searched_on_every_objective_too():
    """policy.type sampled define-by-run (orchestrator/search/conditional.py) with two objectives: one study, two
    directions, each finished trial told both values; an infeasible sample still counts as infeasible."""
    from orchestrator.search.space import split_space
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
