"""`python -m orchestrator report <experiment>`: the HTML report rebuilt from an experiment folder alone (no Ray), for a
finished sweep and for one still running on a copy without its checkpoints, then opened in headless Chromium: no
console errors, nothing fetched from the network, every section in the DOM, images decoded, a screenshot that is
not blank. The folders are written here in the layout Tune and the sweep write (result.json lines, params.json,
experiment_state, summary.json, train_config.json beside checkpoints); tests/integration/test_sweep.py checks the
same on a real sweep's folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestrator import metrics as M
from orchestrator.errors import UserError
from orchestrator.report.command import report_from_args
from orchestrator.report.html import SECTIONS, build_report
from orchestrator.report.importance import param_importances
from orchestrator.results.stats import eval_metrics, wilson_interval
from orchestrator.runtime.experiment import load_experiment
from tests.support.chromium import load_page, pixel_spread

ELSEWHERE = "/nonexistent/other-machine/sweeps/tiny/train"  # absolute paths of the machine that ran the sweep


def _evaluation(step: int, successes: int, n: int = 10) -> dict:
    return {
        **eval_metrics([True] * successes + [False] * (n - successes), [1.0] * n, [successes / n] * n),
        M.EVAL_STEP: step,
        M.EVAL_SECONDS: 1.5,
    }


def _trial(
    root: Path,
    tune_dir: str,
    trial_id: str,
    params: dict,
    steps: list[int],
    evals: dict[int, int],
    seconds: float = 60.0,
    val: bool = True,
    partial_line: bool = False,
    error: bool = False,
) -> dict:
    """One Tune trial folder: a report every 10 steps, a checkpoint every 20; an evaluation of step s finishes
    after it and joins the next report (as the train loop reports them)."""
    folder = root / tune_dir / f"trial_{trial_id}"
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps(params))
    lines, waiting = [], []
    for i, step in enumerate(steps):
        report = {
            M.STEP: step,
            M.TRAIN_LOSS: 5.0 / (1 + step) + params.get("optimizer.lr", 1e-3) * 100,
            M.TRAIN_SAMPLES_PER_S: 250.0,
            "world_size": 1,
            "trial_id": trial_id,
            "time_total_s": seconds * (i + 1) / len(steps),
            "training_iteration": i + 1,
            "config": params,
            "done": not partial_line and i == len(steps) - 1,
        }
        if val:
            report[M.VAL_LOSS] = 6.0 / (1 + step)
        if step % 20 == 0:
            report[M.CHECKPOINT_PATH] = f"{ELSEWHERE}/trial_{trial_id}/checkpoint_{step:06d}"
        if waiting:
            report[M.EVALUATIONS] = json.dumps(waiting)
            report.update(waiting[-1])
            waiting = []
        if step in evals:
            waiting.append(_evaluation(step, evals[step]))
        lines.append(json.dumps(report))
    if waiting:  # the last evaluations arrive with the trial's final report
        last = json.loads(lines[-1])
        last[M.EVALUATIONS] = json.dumps(waiting)
        last.update(waiting[-1])
        lines[-1] = json.dumps(last)
    text = "\n".join(lines) + "\n"
    if partial_line:
        text += '{"step": 30, "train/lo'  # Tune is writing this line right now
    (folder / "result.json").write_text(text)
    if error:
        (folder / "error.txt").write_text("RuntimeError: the worker died")
    return {"trial_id": trial_id, "params": params}


def _train_configs(root: Path, trial_ids: list[str]) -> None:
    from orchestrator.configs.parsing import encode
    from orchestrator.configs.train import TrainPipelineConfig

    config = json.dumps(encode(TrainPipelineConfig(steps=40, eval_freq=20, save_freq=20)))
    for tid in trial_ids:
        folder = root / "train" / f"trial_{tid}" / "checkpoint_000020" / "pretrained_model"
        folder.mkdir(parents=True)
        (folder / "train_config.json").write_text(config)


def _state(root: Path, tune_dir: str, statuses: dict[str, str], metric: str = M.EVAL_SUCCESS) -> None:
    data = [[json.dumps({"trial_id": tid, "status": s}), "{}"] for tid, s in statuses.items()]
    (root / tune_dir / "experiment_state-2026-11-29_10-00-00.json").write_text(
        json.dumps({"trial_data": data, "runner_data": {"_metric": metric}, "stats": {}})
    )


SPACE = {
    "optimizer.lr": {"kind": "float", "low": 1e-4, "high": 3e-3, "log": True},
    "policy.chunk_size": {"kind": "categorical", "choices": [10, 20]},
}
TRIALS = {  # id: (params, evaluated successes out of 10 by step)
    "aaa00001": ({"optimizer.lr": 1e-3, "policy.chunk_size": 20}, {20: 6, 40: 9}),
    "aaa00002": ({"optimizer.lr": 2e-4, "policy.chunk_size": 10}, {20: 3, 40: 5}),
    "aaa00003": ({"optimizer.lr": 2.5e-3, "policy.chunk_size": 20}, {20: 7, 40: 8}),
    "aaa00004": ({"optimizer.lr": 1.2e-4, "policy.chunk_size": 10}, {20: 1}),  # stopped by ASHA at step 20
}


def finished_sweep(root: Path) -> Path:
    for tid, (params, evals) in TRIALS.items():
        _trial(root, "trials", tid, params, [10, 20, 30] if tid == "aaa00004" else [10, 20, 30, 40], evals)
    _trial(root, "trials", "aaa00005", {"optimizer.lr": 5e-4, "policy.chunk_size": 10}, [10], {}, error=True)
    _trial(root, "baseline", "bbb_00000", {}, [10, 20, 30, 40], {20: 2, 40: 4}, seconds=50.0)
    _state(root, "trials", {**{tid: "TERMINATED" for tid in TRIALS}, "aaa00005": "ERROR"})
    _state(root, "baseline", {"bbb_00000": "TERMINATED"})
    _train_configs(root, [*TRIALS, "bbb_00000"])
    candidates = [
        {
            "label": label,
            "step": 40,
            "success": s / 20,
            "successes": s,
            "n_episodes": 20,
            "success_ci95": list(wilson_interval(s, 20)),
            "avg_sum_reward": [1.0, 1.0, 1.0],
            "avg_max_reward": [s / 20, s / 20, s / 20],
            "checkpoint_path": f"{ELSEWHERE}/x",
        }
        for label, s in (("aaa00001", 19), ("aaa00003", 16), ("baseline", 8))
    ]
    summary = {
        "experiment": root.name,
        "metric": M.EVAL_SUCCESS,
        "mode": "max",
        "search_space_spec": SPACE,
        "scheduler_stops": [
            {
                "trial_id": "aaa00004",
                "rung": 20,
                "success": 0.1,
                "success_ci95": list(wilson_interval(1, 10)),
                "survivors": 3,
                "overlapping": 1,
            }
        ],
        "confirmation": {
            "n_episodes": 20,
            "first_seed": 1_000_000,
            "winner": "aaa00001",
            "candidates": candidates,
            "comparison": "the sweep improved success by 55.0 points (95 % CI +27.6..+71.4)",
        },
        "best": {"trial_id": "aaa00001", "best_step": 40, "params": TRIALS["aaa00001"][0]},
    }
    (root / "summary.json").write_text(json.dumps(summary))
    return root


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    root = finished_sweep(tmp_path_factory.mktemp("sweeps") / "tiny")
    return root, build_report(root)


def test_report_of_a_finished_sweep(finished):
    root, page = finished
    assert page == root / "report" / "report.html"
    assert {p.name for p in page.parent.glob("*.png")} == {
        "curves.png",
        "success.png",
        "parallel_coordinates.png",
        "importance.png",
        "confirmation.png",
    }
    text = page.read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text  # self-contained
    assert text.count("src='data:image/png;base64,") == 5
    for section in SECTIONS:
        assert f"<section id='{section}'>" in text
    assert "The sweep improved success by 55.0 points" in text  # best vs baseline, from summary.json
    assert "aaa00004" in text.split("id='scheduler-stops'")[1].split("</section>")[0]  # where ASHA stopped it
    exp = load_experiment(root)
    status = {r.trial_id: r.status for r in exp.rows}
    assert status == {
        "aaa00001": "finished",
        "aaa00002": "finished",
        "aaa00003": "finished",
        "aaa00004": "stopped early",
        "aaa00005": "error",
    }
    assert [r.trial_id for r in exp.rows][:2] == ["aaa00001", "aaa00003"]  # ranked at their best checkpoints
    assert exp.baseline.trial_id == "bbb_00000" and exp.steps == 40
    assert exp.footprint["aaa00001"] == {"CPU": 2.0}  # driver + evaluator + one Train worker
    compute = text.split("id='compute'")[1].split("</section>")[0]
    assert "0.033" in compute  # aaa00001: 60 s x 2 CPUs = 0.033 CPU-hours


def test_parameter_importance_over_the_finished_trials(finished):
    exp = load_experiment(finished[0])
    importances, why = param_importances(exp)
    assert set(importances) == {"optimizer.lr", "policy.chunk_size"}
    assert sum(importances.values()) == pytest.approx(1.0) and "3 finished trials" in why


def test_the_page_in_headless_chromium(finished):
    _, page = finished
    load = load_page(page)
    assert load.console == [], load.console  # no console message, exception or failed load
    assert {u.split(":", 1)[0] for u in load.requests} <= {"file", "data"}, load.requests  # no network
    assert load.failed == []
    for section in SECTIONS:
        assert section in load.ids
    assert load.n_images == 5 and load.images_ok
    assert pixel_spread(load.screenshot) > 20  # not blank


def test_the_chromium_check_sees_console_errors_and_network_requests(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<html><body><img src='https://cdn.invalid/x.png'><script>console.error('boom')</script></body></html>"
    )
    load = load_page(page)
    assert "console.error: boom" in load.console
    assert "https://cdn.invalid/x.png" in load.requests and not load.images_ok


def test_report_while_the_sweep_runs_on_a_copy_without_checkpoints(tmp_path, capsys):
    """No summary.json yet, a trial still running (its last line half written), Tune's metric only in its
    experiment state, no train/ folder (copied without checkpoints): the report says so and still shows the rest."""
    root = tmp_path / "running"
    _trial(root, "trials", "ccc00001", TRIALS["aaa00001"][0], [10, 20, 30, 40], {20: 6, 40: 9})
    _trial(root, "trials", "ccc00002", TRIALS["aaa00002"][0], [10, 20], {20: 3}, partial_line=True)
    (root / "trials" / "trial_ccc00003").mkdir()  # pending: no report yet
    (root / "trials" / "trial_ccc00003" / "params.json").write_text(json.dumps(TRIALS["aaa00003"][0]))
    _state(root, "trials", {"ccc00001": "TERMINATED", "ccc00002": "RUNNING", "ccc00003": "PENDING"})
    page = report_from_args([str(root), f"--out={tmp_path / 'out'}"])
    assert page == tmp_path / "out" / "report.html" and "no summary.json yet" in capsys.readouterr().out
    text = page.read_text()
    assert "still running" in text and "The sweep has not finished" in text
    assert "1 finished trial(s)" in text  # importance needs at least 2: said, not drawn
    exp = load_experiment(root)
    assert exp.metric == M.EVAL_SUCCESS and exp.running and exp.steps == 40  # steps: the largest reached
    assert {r.trial_id: r.status for r in exp.rows} == {
        "ccc00001": "finished",
        "ccc00002": "running",
        "ccc00003": "pending",
    }
    rows = {r.trial_id: r for r in exp.rows}
    assert [e.step for e in rows["ccc00002"].evaluations] == [20]  # read up to the half-written line
    assert [e.step for e in rows["ccc00001"].evaluations] == [20, 40]
    assert "?" in text.split("id='compute'")[1]  # resources unknown without the trials' train_config.json


def test_report_refuses_a_folder_that_is_not_an_experiment(tmp_path):
    with pytest.raises(UserError, match="has no trials/ folder"):
        report_from_args([str(tmp_path)])
    with pytest.raises(UserError, match="unknown option"):
        report_from_args([str(tmp_path), "--outdir=x"])
    shutil.rmtree(tmp_path)


def test_report_from_the_folder_ranks_configs_by_their_mean_and_labels_infeasible_trials(tmp_path):
    """--tune.repeats=2 and a constraint: the page ranks configs by the mean over seeds with the spread, and shows
    the infeasible trial (one report, no training) as infeasible."""
    root = tmp_path / "repeats"
    # config A: seeds at 2/10 and 8/10 (mean 50 %); config B: 6/10 and 6/10 (mean 60 %): B first despite A's 8/10
    for tid, cid, index, successes in [("r1", "A", 0, 2), ("r2", "A", 1, 8), ("r3", "B", 0, 6), ("r4", "B", 1, 6)]:
        _trial(
            root,
            "trials",
            tid,
            {"optimizer.lr": 1e-3 if cid == "A" else 2e-3, "__trial_index__": index, "__config_id__": cid},
            [10, 20, 30, 40],
            {40: successes},
        )
    folder = root / "trials" / "trial_r5"
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps({"optimizer.lr": 5e-3, "__trial_index__": 0, "__config_id__": "X"}))
    (folder / "result.json").write_text(
        json.dumps({M.INFEASIBLE: True, M.VIOLATED: ["lr <= 4e-3"], M.STEP: 0, "trial_id": "r5", "done": True}) + "\n"
    )
    _state(root, "trials", dict.fromkeys(["r1", "r2", "r3", "r4", "r5"], "TERMINATED"))
    exp = load_experiment(root)
    assert [r.trial_id for r in exp.rows] == ["r3", "r4", "r2", "r1", "r5"]
    assert exp.rows[-1].status == "infeasible" and exp.rows[0].over_seeds["mean"] == pytest.approx(0.6)
    text = report_from_args([str(root), f"--out={tmp_path / 'out'}"]).read_text()
    trials = text.split("id='trials'")[1].split("</table>")[0]
    assert "mean eval/success over seeds" in trials and "min - max" in trials and "0.2 - 0.8" in trials
    assert "infeasible (lr &lt;= 4e-3)" in trials or "infeasible (lr <= 4e-3)" in trials
    assert "1 infeasible" in text


def test_report_shows_where_each_staged_evaluation_stopped_and_why(tmp_path):
    """eval.stage_episodes: an evaluation that stopped because it could not beat the best so far is listed with the
    episodes it used; a sweep without staged evaluations has no such section."""
    root = finished_sweep(tmp_path / "tiny")
    result = root / "trials" / "trial_aaa00004" / "result.json"
    lines = []
    for line in result.read_text().splitlines():
        report = json.loads(line)
        if M.EVALUATIONS in report:
            staged = [{**e, M.EVAL_DECISION: M.DECISION_CODES["worse"]} for e in json.loads(report[M.EVALUATIONS])]
            report[M.EVALUATIONS] = json.dumps(staged)
            report.update(staged[-1])
        lines.append(json.dumps(report))
    result.write_text("\n".join(lines) + "\n")
    section = build_report(root).read_text().split("id='staged-evaluations'")[1].split("</section>")[0]
    assert "aaa00004" in section and "cannot beat the sweep&#x27;s best so far" in section
    assert "1 of 1 stopped early" in section and "aaa00001" not in section
    assert "staged-evaluations" not in build_report(finished_sweep(tmp_path / "plain")).read_text()
