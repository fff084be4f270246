"""A trial's result is its best evaluated checkpoint (ties: the later step), paired from its report history."""

import json

from orchestrator import metrics as M
from orchestrator.results.candidates import best_candidate, candidates_of


def evaluation(step, success, max_reward):
    return {M.EVAL_STEP: step, M.EVAL_SUCCESS: success, M.EVAL_AVG_MAX_REWARD: max_reward, M.EVAL_N_EPISODES: 10}


HISTORY = [  # evaluations finish after the step they evaluate; the checkpoint of that step was reported then
    {M.STEP: 100, M.CHECKPOINT_PATH: "/ckpt/100"},
    {M.STEP: 150},
    {M.STEP: 200, M.CHECKPOINT_PATH: "/ckpt/200", M.EVALUATIONS: [evaluation(100, 0.3, 0.5)]},
    {M.STEP: 300, M.CHECKPOINT_PATH: "/ckpt/300", M.EVALUATIONS: [evaluation(200, 0.6, 0.7)]},
    {
        M.STEP: 400,
        M.CHECKPOINT_PATH: "/ckpt/400",  # two evaluations finished between reports: both count
        M.EVALUATIONS: json.dumps([evaluation(300, 0.6, 0.9), evaluation(400, 0.4, 0.95)]),
    },  # as the loop reports
]


def test_every_evaluation_is_a_candidate_with_the_checkpoint_of_its_step():
    cands = candidates_of(HISTORY, "t1", {"optimizer.lr": 1e-3})
    assert [(c.step, c.checkpoint_path, c.value(M.EVAL_SUCCESS)) for c in cands] == [
        (100, "/ckpt/100", 0.3),
        (200, "/ckpt/200", 0.6),
        (300, "/ckpt/300", 0.6),
        (400, "/ckpt/400", 0.4),
    ]
    assert all(c.trial_id == "t1" and c.params == {"optimizer.lr": 1e-3} for c in cands)


def test_best_not_last_and_ties_go_to_the_later_step():
    cands = candidates_of(HISTORY, "t1", {})
    assert best_candidate(cands, M.EVAL_SUCCESS, "max").step == 300  # 0.6 at 200 and 300: the later one
    assert best_candidate(cands, M.EVAL_AVG_MAX_REWARD, "max").step == 400
    assert best_candidate(cands, M.EVAL_SUCCESS, "min").step == 100


def test_a_retried_step_keeps_its_latest_result_and_uncommitted_checkpoints_are_skipped():
    history = [
        *HISTORY,
        {M.STEP: 300, M.CHECKPOINT_PATH: "/retry/300", M.EVALUATIONS: [evaluation(300, 0.1, 0.1)]},
        {M.STEP: 500, M.EVALUATIONS: [evaluation(500, 1.0, 1.0)]},
    ]  # step 500's checkpoint never arrived
    cands = candidates_of(history, "t1", {})
    at_300 = next(c for c in cands if c.step == 300)
    assert at_300.checkpoint_path == "/retry/300" and at_300.value(M.EVAL_SUCCESS) == 0.1
    assert best_candidate(cands, M.EVAL_SUCCESS, "max").step == 200
    assert best_candidate([], M.EVAL_SUCCESS, "max") is None
