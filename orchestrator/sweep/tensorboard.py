"""TensorBoard files with the training step on the x axis (Tune's own logger plots against its report count).

Each report's numbers are written at its training step; each evaluation (several may finish between two reports,
each carried in the report's `evaluations` list) at the step whose weights it evaluated. The latest evaluation also
rides along with every later report (for the schedulers): those copies are not written again. Lists and text (the
names of broken constraints, node ids, the evaluations' JSON) are not scalars and are left out, so TensorBoardX
warns about none of them.
"""

from __future__ import annotations

import json
import math

from ray.tune.logger import TBXLoggerCallback
from ray.tune.result import TIME_TOTAL_S, TRAINING_ITERATION

from orchestrator import metrics as M

SKIPPED = {"timestamp", "pid", TIME_TOTAL_S, TRAINING_ITERATION, "done"}
PREFIX = "ray/tune/"  # the tags Tune's logger uses, so existing dashboards keep their names


class StepTensorBoard(TBXLoggerCallback):
    """Tune's TensorBoardX logger (one event file per trial folder, hparams at the end), keyed by our step counter,
    which survives a trial's retries, unlike training_iteration."""

    def log_trial_result(self, iteration: int, trial, result: dict) -> None:
        if trial not in self._trial_writer:
            self.log_trial_start(trial)
        writer = self._trial_writer[trial]
        step = int(result.get(M.STEP, result.get(TRAINING_ITERATION, 0)))
        written = {}
        for key, value in _scalars(result, evaluations=False).items():
            writer.add_scalar(PREFIX + key, value, global_step=step)
            written[PREFIX + key] = value
        finished = result.get(M.EVALUATIONS) or []
        for evaluation in json.loads(finished) if isinstance(finished, str) else finished:
            for key, value in _scalars(evaluation, evaluations=True).items():
                writer.add_scalar(PREFIX + key, value, global_step=int(evaluation[M.EVAL_STEP]))
                written[PREFIX + key] = value
        self._trial_result[trial] = {**self._trial_result.get(trial, {}), **written}  # hparams: the last values
        writer.flush()


def _scalars(report: dict, evaluations: bool) -> dict[str, float]:
    """The finite numbers of a report (evaluations=False: without the eval/* copies) or of one evaluation."""
    out = {}
    for key, value in report.items():
        if key in SKIPPED or key == M.EVAL_STEP or key.startswith("eval/") != evaluations:
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            out[key] = float(value)
    return out
