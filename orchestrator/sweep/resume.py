"""What `--tune.resume=true` needs that Tune does not restore by itself: two Tune callbacks, saved with the experiment.

- The scheduler's state. Tune saves the searcher's state with the experiment but not the scheduler's: after
  `Tuner.restore`, ASHA started with empty rungs, and stopped none of the trials that the uninterrupted sweep stopped.
  `SchedulerState` saves the scheduler's own state (`TrialScheduler.save`/`restore`) as callback state, which Tune
  does checkpoint, and puts it back on restore.
- Each trial's reports. Tune's loggers copy a trial's result.json and progress.csv back from storage on restore only
  when Tune holds the trial's checkpoint, which under Ray Train V2 it never does (RAY_NOTES.md): a resumed trial
  started a new result.json and the reports before the interrupt (its curves, the evaluations its best checkpoint
  is chosen from) were lost. `RestoredTrialLogs` copies them back before the loggers open the files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow.fs
from ray.tune import Callback

from orchestrator.experiment_layout import PROGRESS, RESULT

TRIAL_LOGS = (RESULT, PROGRESS)


class SchedulerState(Callback):
    """Keeps `scheduler`'s state in the experiment's checkpoint (the same object as the TuneConfig's: both are
    pickled together in the Tuner, so a restored Tuner's callback still points at its scheduler)."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def get_state(self) -> dict | None:
        if self.scheduler is None:
            return None
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "scheduler.pkl")
            self.scheduler.save(path)
            return {"scheduler": Path(path).read_bytes(), "type": type(self.scheduler).__name__}

    def set_state(self, state: dict) -> None:
        if self.scheduler is None or state.get("type") != type(self.scheduler).__name__:
            return
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "scheduler.pkl")
            Path(path).write_bytes(state["scheduler"])
            self.scheduler.restore(path)


class RestoredTrialLogs(Callback):
    """On a trial's first start in this driver, its reports so far (in storage, from before an interrupt or a
    crash of the driver) are copied into the local folder Tune's loggers append to."""

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        storage = getattr(trial, "storage", None)
        if storage is None:
            return
        for name in TRIAL_LOGS:
            local = Path(trial.local_path, name)
            if local.exists():
                continue
            remote = Path(storage.trial_fs_path, name).as_posix()
            fs = storage.storage_filesystem
            if fs.get_file_info(remote).type != pyarrow.fs.FileType.File:
                continue
            local.parent.mkdir(parents=True, exist_ok=True)
            pyarrow.fs.copy_files(remote, str(local), source_filesystem=fs)
