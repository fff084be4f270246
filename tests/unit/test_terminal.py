"""The terminal without Ray: --verbose, LeRobot's log line from reported metrics, and the live table of a sweep."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rich.console import Console

from orchestrator import metrics as M
from orchestrator import terminal
from orchestrator.formatting import log_line
from orchestrator.sweep.progress import SweepProgress

REPORT = {
    M.STEP: 400,
    M.SAMPLES: 25600,
    M.EPISODES: 12.5,
    M.EPOCH: 1.25,
    M.TRAIN_LOSS: 0.8123,
    M.TRAIN_GRAD_NORM: 3.2,
    M.TRAIN_LR: 1e-4,
    M.TRAIN_UPDATE_S: 0.05,
    M.TRAIN_DATA_S: 0.01,
}
EVALUATED = {
    M.EVAL_STEP: 400,
    M.EVAL_SUCCESS: 0.4,
    M.EVAL_SUCCESS_LOW: 0.12,
    M.EVAL_SUCCESS_HIGH: 0.74,
    M.EVAL_AVG_MAX_REWARD: 0.83,
    M.EVAL_SECONDS: 2.5,
}


@pytest.fixture(autouse=True)
def quiet_terminal(monkeypatch):
    monkeypatch.setitem(terminal._state, "console", Console(width=200, file=open("/dev/null", "w")))
    monkeypatch.setitem(terminal._state, "verbose", False)


def test_verbose_flag_is_taken_out_of_the_arguments():
    assert terminal.take_verbose_flag(["--steps=3", "--verbose"]) == ["--steps=3"] and terminal.verbose()
    assert terminal.take_verbose_flag(["--verbose=false"]) == [] and not terminal.verbose()


def test_the_log_line_is_lerobots_with_the_last_evaluation():
    assert log_line(REPORT) == (
        "step:400 smpl:26K ep:12 epch:1.25 loss:0.812 grdn:3.200 lr:1.0e-04 updt_s:0.050 data_s:0.010"
    )
    assert log_line({**REPORT, **EVALUATED}).endswith("| eval@400: success:0.40 [0.12, 0.74] max_rwd:0.830 eval_s:2.5")


def trial(trial_id: str, **config):
    return SimpleNamespace(trial_id=trial_id, config=config, path=None, num_failures=0)


def test_the_live_table_and_the_log_follow_the_reports(tmp_path):
    log = tmp_path / "logs" / "trials.log"
    progress = SweepProgress("Trials", ["optimizer.lr", "policy.chunk_size"], 1200, M.EVAL_AVG_MAX_REWARD, str(log))
    progress.setup(total_num_samples=3)
    a, b = trial("aaaa1111", **{"optimizer.lr": 0.0020761, "policy.chunk_size": 20}), trial("bbbb2222")
    progress.on_trial_start(0, [a, b], a)
    progress.on_trial_result(1, [a, b], a, {**REPORT, **EVALUATED})
    progress.on_trial_complete(2, [a, b], trial("bbbb2222"))

    wide = Console(width=200, record=True)
    wide.print(progress.table([a, b], width=200))
    text = wide.export_text()
    assert "Trials: 1 of 3 done" in text and "chunk" in text and "0.002076" in text
    assert "aaaa1111  RUNNING" in text and "400/1200" in text and "40% [12%, 74%]" in text and "0.83" in text
    assert "bbbb2222  STOPPED" in text  # ended before its last step: the scheduler stopped it
    narrow = Console(width=80, record=True)
    narrow.print(progress.table([a, b], width=80))
    text = narrow.export_text()
    assert "0.002076" not in text and "40% [12%, 74%]" in text  # the searched values go first
    written = log.read_text()
    assert "aaaa1111 step:400 smpl:26K" in written and "bbbb2222 stopped by the scheduler at step 0" in written


def test_the_baseline_and_the_seeds_are_named_so_not_by_tunes_id(tmp_path):
    base = SweepProgress("Baseline", [], 400, M.EVAL_SUCCESS, str(tmp_path / "baseline.log"), kind="baseline")
    seeds = SweepProgress("Seeds", ["seed"], 400, M.EVAL_SUCCESS, str(tmp_path / "seeds.log"), kind="seeds")
    b, s = trial("f00d1_00000"), trial("cafe2_00001", seed=1001)
    base.on_trial_result(1, [b], b, REPORT)
    seeds.on_trial_result(1, [s], s, REPORT)
    assert " baseline step:400 " in (tmp_path / "baseline.log").read_text()
    assert " seed 1001 step:400 " in (tmp_path / "seeds.log").read_text()
    console = Console(width=200, record=True)
    console.print(seeds.table([s], width=200))
    assert "seed 1001" in console.export_text() and "cafe2_00001" not in console.export_text()


def test_no_cell_of_the_live_table_is_cut_where_it_fits_and_the_final_table_is_whole_in_a_file(tmp_path):
    progress = SweepProgress("Trials", ["optimizer.lr"], 1200, M.EVAL_SUCCESS, str(tmp_path / "t.log"))
    progress.setup(total_num_samples=1)
    a = trial("aaaa1111", **{"optimizer.lr": 0.0020761})
    progress.on_trial_start(0, [a], a)
    progress.on_trial_result(
        1,
        [a],
        a,
        {
            **REPORT,
            M.TRAIN_LOSS: 0.07112345,
            **EVALUATED,
            M.EVAL_SUCCESS: 1.0,
            M.EVAL_SUCCESS_LOW: 0.61,
            M.EVAL_SUCCESS_HIGH: 1.0,
        },
    )
    wide = Console(width=200, record=True)
    wide.print(progress.table([a], width=200))
    text = wide.export_text()
    assert "100% [61%, 100%]" in text and "0.07112" in text and "…" not in text

    from orchestrator.report.table import print_table
    from orchestrator.results.rows import TrialRow

    params = {f"optimizer.some_long_field_{i}": 0.000123 for i in range(8)}
    rows = [TrialRow("aaaa1111", "finished", params, {M.TRAIN_LOSS: 0.5}, None)]
    piped = Console(width=80, file=open(tmp_path / "out.txt", "w"))  # a file: not a terminal
    print_table(rows, M.TRAIN_LOSS, piped)
    piped.file.close()
    written = (tmp_path / "out.txt").read_text()
    assert "finished" in written and "optimizer.some_long_field_7" in written and "…" not in written
