"""What a restored trial tells Tune again before it trains on.

Tune saves its record of a sweep (the experiment state, each trial's result.json) to storage every ~10 s, not on
every report. If the driver dies (SIGKILL, a lost head node), the reports of its last seconds are missing from that
record, while the Train run's own record, its registered checkpoints with the metrics reported with each, is
complete. On resume Tune restarts such a trial as if it were still running: the run continues from its last
checkpoint, and without this its missing checkpointed reports would never be candidates, and a trial that had
finished before the crash would train nothing, report nothing, and read as stopped early with no result.
"""

from __future__ import annotations

import json

from orchestrator import metrics as M
from orchestrator.runtime import storage as storage_lib

SNAPSHOT = "checkpoint_manager_snapshot.json"  # Ray Train's record of a run's registered checkpoints


def registered_reports(run_storage: str) -> list[dict]:
    """The reports of a Train run that carried a checkpoint Ray registered, oldest first, each with the checkpoint's
    path as Tune's report has it (`checkpoint_path`). [] for a run that has none (a new one)."""
    try:
        snapshot = json.loads(storage_lib.read_text(storage_lib.join(run_storage, SNAPSHOT)))
    except FileNotFoundError:
        return []
    return [
        {**r["metrics"], M.CHECKPOINT_PATH: storage_lib.join(run_storage, r["checkpoint_dir_name"]), M.REPLAYED: True}
        for r in snapshot.get("checkpoint_results", [])
    ]


def last_step_told(result_json: str) -> int:
    """The last step in a trial's result.json in storage (-1 when there is none)."""
    try:
        text = storage_lib.read_text(result_json)
    except FileNotFoundError:
        return -1
    steps = []
    for line in text.splitlines():
        try:
            steps.append(int(json.loads(line).get(M.STEP, -1)))
        except (ValueError, TypeError, AttributeError):  # a line cut short mid-write
            continue
    return max(steps, default=-1)


def unseen_reports(run_storage: str, result_json: str) -> list[dict]:
    """The run's checkpointed reports past the last step of Tune's saved record of the trial. Each carries the
    evaluations reported in the reports without a checkpoint before it (which the record may have lost with them),
    then its own: with the restored step evaluated again (train_loop.py), no evaluation is lost."""
    registered = registered_reports(run_storage)
    if not registered:  # a new run (every trial's first start): nothing to compare
        return []
    told = last_step_told(result_json)
    missed = [r for r in registered if r.get(M.STEP, -1) > told]
    for report in missed:
        before = json.loads(report.pop(M.EVALUATIONS_BEFORE, None) or "[]")
        evaluations = before + json.loads(report.get(M.EVALUATIONS) or "[]")  # (one Tune has already: the same)
        if evaluations:
            report[M.EVALUATIONS] = json.dumps(evaluations)
    return missed
