"""A restored trial tells Tune the checkpointed reports Tune's saved record lacks (trainables/replay.py), read from
files laid out as Ray Train and Tune write them."""

import json

from orchestrator import metrics as M
from orchestrator.search.algorithms import search_algorithm
from trainables.replay import last_step_told, registered_reports, unseen_reports


def _run(tmp_path, steps):
    run = tmp_path / "train" / "trial_a"
    run.mkdir(parents=True)
    snapshot = {
        "checkpoint_results": [
            {"checkpoint_dir_name": f"checkpoint_{s}", "metrics": {M.STEP: s, "train/loss": 1 / s}} for s in steps
        ]
    }
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


def test_optuna_is_told_each_step_once_across_a_resume():
    """Tune's training_iteration starts again when a trial resumes, and a resumed run reports its last steps again:
    Optuna's intermediate values are keyed by our step, each told once, without Optuna's "already reported" warning."""
    import warnings

    from ray import tune

    from orchestrator.configs.tune import TuneConfig

    t = TuneConfig(metric=M.TRAIN_LOSS, mode="min", seed=3)
    space = {"optimizer.lr": tune.loguniform(1e-4, 1e-2)}
    searcher = search_algorithm(t, 1, space)
    searcher.set_search_properties(t.rank_metric, t.rank_mode, space)
    searcher.suggest("t0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for iteration, step in [(1, 10), (2, 20), (1, 20), (2, 30)]:  # resumed from step 10 after reporting 20
            searcher.on_trial_result("t0", {M.TRAIN_LOSS: 1 / step, M.STEP: step, "training_iteration": iteration})
        searcher.on_trial_result("t0", {M.STEP: 40, "training_iteration": 3})  # no metric in it: passed over
    [trial] = searcher._ot_study.trials
    assert trial.intermediate_values == {10: 0.1, 20: 0.05, 30: 1 / 30}


def test_evaluations_reported_between_checkpoints_are_told_again_with_the_next_one(tmp_path):
    run = tmp_path / "train" / "trial_b"
    run.mkdir(parents=True)
    ev = [{"eval/step": s, "eval/success": s / 100} for s in (10, 20)]
    snapshot = {
        "checkpoint_results": [
            {"checkpoint_dir_name": "checkpoint_10", "metrics": {M.STEP: 10}},
            # step 10's evaluation reached Tune at step 15 (no checkpoint); step 20's rides along with the checkpoint
            {
                "checkpoint_dir_name": "checkpoint_20",
                "metrics": {M.STEP: 20, M.EVALUATIONS: json.dumps(ev[1:]), M.EVALUATIONS_BEFORE: json.dumps(ev[:1])},
            },
        ]
    }
    (run / "checkpoint_manager_snapshot.json").write_text(json.dumps(snapshot))
    result_json = tmp_path / "result.json"
    result_json.write_text(json.dumps({M.STEP: 10}) + "\n")  # Tune saved up to step 10, not the step-15 report
    [told] = unseen_reports(str(run), str(result_json))
    assert told[M.STEP] == 20 and json.loads(told[M.EVALUATIONS]) == ev and M.EVALUATIONS_BEFORE not in told
