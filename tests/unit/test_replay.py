"""A restored trial tells Tune the checkpointed reports Tune's saved record lacks (trainables/replay.py), read from
files laid out as Ray Train and Tune write them."""
import json

from orchestrator import metrics as M
from trainables.replay import last_step_told, registered_reports, unseen_reports


def _run(tmp_path, steps):
    run = tmp_path / "train" / "trial_a"
    run.mkdir(parents=True)
    snapshot = {"checkpoint_results": [{"checkpoint_dir_name": f"checkpoint_{s}",
                                        "metrics": {M.STEP: s, "train/loss": 1 / s}} for s in steps]}
    (run / "checkpoint_manager_snapshot.json").write_text(json.dumps(snapshot))
    return run


def test_reports_past_the_last_step_tune_saved_are_told_with_their_checkpoint(tmp_path):
    run = _run(tmp_path, [10, 20, 30, 40])
    result_json = tmp_path / "trials" / "trial_a" / "result.json"
    result_json.parent.mkdir(parents=True)
    result_json.write_text("".join(json.dumps({M.STEP: s}) + "\n" for s in (5, 10, 15, 20)) + '{"step": 2')  # cut
    assert last_step_told(str(result_json)) == 20
    missed = unseen_reports(str(run), str(result_json))
    assert [r[M.STEP] for r in missed] == [30, 40]
    assert missed[-1][M.CHECKPOINT_PATH] == str(run / "checkpoint_40") and missed[-1]["train/loss"] == 1 / 40
    assert all(r[M.REPLAYED] for r in missed)  # the live log says so instead of printing them as training


def test_a_new_trial_or_an_empty_record(tmp_path):
    assert registered_reports(str(tmp_path / "train" / "trial_new")) == []  # a new run: nothing to tell
    run = _run(tmp_path, [10, 20])
    assert last_step_told(str(tmp_path / "none.json")) == -1
    assert [r[M.STEP] for r in unseen_reports(str(run), str(tmp_path / "none.json"))] == [10, 20]
