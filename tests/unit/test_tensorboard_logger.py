"""The sweep's TensorBoard files, read back with TensorBoard's own reader: x is the training step, and every
evaluation sits at the step it evaluated, even when two finished between reports."""

from __future__ import annotations

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from orchestrator import metrics as M
from orchestrator.sweep.tensorboard import StepTensorBoard


class _Trial:  # what Tune's logger needs of a trial
    def __init__(self, path):
        self.local_path = str(path)
        self.evaluated_params = {"optimizer.lr": 1e-3}
        self.trial_id = "t1"

    def init_local_path(self):
        pass


def _evaluation(step: int, success: float) -> dict:
    return {M.EVAL_STEP: step, M.EVAL_SUCCESS: success, M.EVAL_N_EPISODES: 10, M.EVAL_SECONDS: 2.0}


def test_reports_at_their_step_and_each_evaluation_at_the_step_it_evaluated(tmp_path):
    trial, logger = _Trial(tmp_path), StepTensorBoard()
    reports = [  # the train loop's shapes: evaluations of steps 10 and 20 both finish before the report of step 30
        {M.STEP: 10, M.TRAIN_LOSS: 1.0, "training_iteration": 1, "node_id": "abc"},
        {M.STEP: 20, M.TRAIN_LOSS: 0.5, "training_iteration": 2},
        {
            M.STEP: 30,
            M.TRAIN_LOSS: 0.25,
            "training_iteration": 3,
            **_evaluation(20, 0.4),
            M.EVALUATIONS: json.dumps([_evaluation(10, 0.1), _evaluation(20, 0.4)]),
        },
        {
            M.STEP: 40,
            M.TRAIN_LOSS: 0.2,
            "training_iteration": 4,
            **_evaluation(20, 0.4),  # the copy rides along
            M.VIOLATED: ["a list"],
        },
    ]
    for i, report in enumerate(reports):
        logger.log_trial_result(i + 1, trial, report)
    logger.log_trial_end(trial)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    loss = [(e.step, round(e.value, 3)) for e in events.Scalars("ray/tune/train/loss")]
    success = [(e.step, round(e.value, 3)) for e in events.Scalars("ray/tune/eval/success")]
    assert loss == [(10, 1.0), (20, 0.5), (30, 0.25), (40, 0.2)]
    assert success == [(10, 0.1), (20, 0.4)]  # once each, at its own step
    assert not any("violated" in tag or "node_id" in tag for tag in events.Tags()["scalars"])
