"""What a resumed sweep gets back that Tune alone does not restore: ASHA's rungs and each trial's earlier reports."""

import json
import pickle
from types import SimpleNamespace

import pyarrow.fs
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from orchestrator.sweep.resume import RestoredTrialLogs, SchedulerState


def _asha() -> ASHAScheduler:
    return ASHAScheduler(
        time_attr="eval/step", metric="eval/success", mode="max", max_t=100, grace_period=10, reduction_factor=2
    )


def _trial(trial_id: str):
    return SimpleNamespace(trial_id=trial_id)


def test_asha_rungs_survive_a_restore():
    before = _asha()
    for tid, success in (("a", 0.9), ("b", 0.8), ("c", 0.7)):
        before.on_trial_add(None, _trial(tid))
        before.on_trial_result(None, _trial(tid), {"eval/step": 10, "eval/success": success})
    state = pickle.loads(pickle.dumps(SchedulerState(before).get_state()))  # Tune pickles callback state

    fresh, restored = _asha(), _asha()  # what Tuner.restore hands the controller: a scheduler with empty rungs
    SchedulerState(restored).set_state(state)
    weak = {"eval/step": 10, "eval/success": 0.1}
    for scheduler in (fresh, restored):
        scheduler.on_trial_add(None, _trial("d"))
    assert fresh.on_trial_result(None, _trial("d"), weak) == TrialScheduler.CONTINUE  # the bug: nothing to compare with
    assert restored.on_trial_result(None, _trial("d"), weak) == TrialScheduler.STOP  # the rung remembers a, b, c


def test_no_scheduler_and_another_scheduler_are_left_alone():
    assert SchedulerState(None).get_state() is None
    state = SchedulerState(_asha()).get_state()
    other = SimpleNamespace(restore=lambda path: (_ for _ in ()).throw(AssertionError("restored a different type")))
    SchedulerState(other).set_state(state)


def test_a_restored_trial_keeps_its_earlier_reports(tmp_path):
    remote, local = tmp_path / "storage" / "trial_x", tmp_path / "staging" / "trial_x"
    remote.mkdir(parents=True)
    lines = "".join(json.dumps({"step": s}) + "\n" for s in (10, 20, 30))
    (remote / "result.json").write_text(lines)
    (remote / "progress.csv").write_text("step\n10\n20\n30\n")
    trial = SimpleNamespace(
        local_path=str(local),
        storage=SimpleNamespace(trial_fs_path=str(remote), storage_filesystem=pyarrow.fs.LocalFileSystem()),
    )
    RestoredTrialLogs().on_trial_start(0, [], trial)
    assert (local / "result.json").read_text() == lines
    assert (local / "progress.csv").read_text() == "step\n10\n20\n30\n"
    # A retry within the same driver appends to its own file: nothing is copied over it.
    (local / "result.json").write_text(lines + json.dumps({"step": 40}) + "\n")
    RestoredTrialLogs().on_trial_start(0, [], trial)
    assert (local / "result.json").read_text().count("\n") == 4


def test_a_new_trial_starts_with_no_reports(tmp_path):
    trial = SimpleNamespace(
        local_path=str(tmp_path / "staging"),
        storage=SimpleNamespace(
            trial_fs_path=str(tmp_path / "nothing"), storage_filesystem=pyarrow.fs.LocalFileSystem()
        ),
    )
    RestoredTrialLogs().on_trial_start(0, [], trial)
    assert not (tmp_path / "staging").exists()
