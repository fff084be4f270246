"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) and SIGTERM (to the driver alone, as `ray job
stop` and cluster schedulers send it) stop a command within seconds with exit code 130, keep every finished trial
and checkpoint, and say how to resume; resuming completes the work from where it stopped. A sweep whose driver is
SIGKILLed (nothing saved by it) resumes the same way."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.experiment_layout import INTERRUPTED
from orchestrator.runtime.experiment import load_experiment
from orchestrator.search.algorithms import search_algorithm
from tests.conftest import TINY_ACT
from tests.faults.inject import descendants, kill, named, registered, survivors, tune_statuses
from tests.support.optuna_dashboard import optuna_dashboard

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 30  # what "within seconds" means on this 2-core machine, Ray's shutdown included


class Command:
    """A CLI command in its own session (so the test can signal its process group as a terminal would)."""

    started: list[Command] = []  # this test's, stopped after it (a failed assertion leaves one running otherwise)

    def __init__(self, args: list[str], log: Path, **env: str):
        self.log = log
        Command.started.append(self)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", *args],
            cwd=ROOT,
            start_new_session=True,
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )

    def wait_for(self, done, timeout: float = 240) -> None:
        deadline = time.time() + timeout
        while not done():
            assert self.proc.poll() is None, f"ended early ({self.proc.returncode}):\n{self.output()[-3000:]}"
            assert time.time() < deadline, f"timed out waiting:\n{self.output()[-3000:]}"
            time.sleep(0.1)

    def interrupt(self, sig: int, group: bool) -> float:
        start = time.time()
        os.killpg(self.proc.pid, sig) if group else os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(
                f"still running {STOP_WITHIN_S} s after the signal:\n{self.output()[-3000:]}"
            ) from None
        return time.time() - start

    def output(self) -> str:
        return self.log.read_text(errors="ignore")


@pytest.fixture(autouse=True)
def _no_command_outlives_its_test():
    yield
    for command in Command.started:
        if command.proc.poll() is None:
            os.killpg(command.proc.pid, signal.SIGKILL)
            command.proc.wait(timeout=30)
    Command.started.clear()


def _steps(result_json: Path) -> list[tuple[int, int]]:
    return [(r["step"], r["start_step"]) for r in map(json.loads, result_json.read_text().splitlines())]


def test_ctrl_c_then_a_killed_driver_and_resume_complete_the_sweep(tmp_path, tiny_dataset):
    """One sweep (2 trials, one at a time), stopped twice: Ctrl-C to its process group (graceful: Tune saves its
    state), then, resumed, SIGKILL to its driver as the first trial finishes, before Tune saved that (nothing saved
    by the driver; the Ray it started goes too). Resumed again, it completes: the interrupted trial continued from its
    last checkpoint, the finished one is not trained again (its reports Tune lost are told again from its registered
    checkpoints), the searcher keeps its state."""
    args = [
        "sweep",
        "search_spaces/act.py",
        f"--tune.storage_path={tmp_path}",
        "--tune.experiment_name=stopped",
        "--tune.num_samples=2",
        "--tune.max_concurrent_trials=1",
        "--tune.metric=train/loss",
        "--tune.mode=min",
        "--tune.scheduler=none",
        "--tune.confirm_top_k=0",
        "--tune.baseline=false",
        *TINY_ACT,
        "--steps=100",
        "--log_freq=10",
        "--save_freq=10",
        "--eval_freq=0",
        "--dataset.record_episodes=3",
    ]
    exp = tmp_path / "stopped"
    sweep = Command(args, tmp_path / "first.log")
    sweep.wait_for(lambda: "step:30 " in sweep.output())  # the first trial has checkpoints at 10, 20, 30
    took = sweep.interrupt(signal.SIGINT, group=True)
    out = sweep.output()
    assert sweep.proc.returncode == 130, out[-3000:]
    assert f"{' '.join(args[1:])} --tune.resume=true" in out and "Traceback" not in out
    assert not (exp / "best").exists() and not (exp / "baseline").exists() and not (exp / "summary.json").exists()
    statuses = [r.status for r in load_experiment(exp).rows]
    assert "interrupted" in statuses and "stopped early" not in statuses and "finished" not in statuses
    [first] = [p.name.removeprefix("trial_") for p in (exp / "train").glob("trial_*")]
    kept = sorted(
        json.loads(p.read_text())["step"]
        for p in (exp / "train" / f"trial_{first}").glob("checkpoint_*/training_state/training_step.json")
    )
    assert kept[:3] == [10, 20, 30] and took < STOP_WITHIN_S

    # Tune saves its record of the sweep every ~10 s, and syncs it to storage then; here only as the resumed run
    # starts (deterministic). The driver is SIGKILLed the moment the first trial finishes: Tune's saved record has
    # it running at step 30, and nothing of what it reported since.
    resumed = Command([*args, "--tune.resume=true"], tmp_path / "second.log", TUNE_GLOBAL_CHECKPOINT_S="600")
    first_run = exp / "train" / f"trial_{first}"
    resumed.wait_for(lambda: (registered(first_run) or [{}])[-1].get("step") == 100, timeout=300)
    ray_processes = descendants(resumed.proc.pid)
    training = [p for p, name in named(ray_processes) if "Agent" not in name]  # the agents: see tests/faults
    kill(resumed.proc.pid)
    resumed.proc.wait(timeout=30)
    assert resumed.proc.returncode == -signal.SIGKILL and ray_processes
    # The raylet and GCS die with the driver, and every process of the run with them.
    assert not survivors(training, timeout=60), "Ray's processes outlived the killed driver by a minute"
    finished_before = registered(first_run)
    saved = _steps(exp / "trials" / f"trial_{first}" / "result.json")[-1][0]  # as of the Ctrl-C
    assert tune_statuses(exp)[first] != "TERMINATED" and 30 <= saved < 100

    final = Command([*args, "--tune.resume=true"], tmp_path / "third.log")
    assert final.proc.wait(timeout=400) == 0, final.output()[-3000:]
    # told again, not trained again:
    assert f"{first} restarted: its checkpointed reports from step {saved + 10} on" in final.output()
    assert registered(first_run) == finished_before
    assert not (exp / INTERRUPTED).exists() and (exp / "summary.json").exists() and (exp / "best").is_dir()
    experiment = load_experiment(exp)
    assert [r.status for r in experiment.rows] == ["finished", "finished"]
    history = _steps(exp / "trials" / f"trial_{first}" / "result.json")
    # The reports from before the Ctrl-C are kept; after it, training continued from the last checkpoint.
    assert [s for s, start in history if start == 0][:3] == [10, 20, 30]
    restarted_at = {start for _, start in history if start > 0}
    # from a checkpoint written before the interrupt, at or after the last step seen (a checkpoint whose write the
    # interrupt cut short is on disk but not registered, and is rightly not used)
    assert len(restarted_at) == 1 and (restart := restarted_at.pop()) in kept and restart >= 30
    assert [s for s, _ in history if s > restart] == list(range(restart + 10, 101, 10))  # each report once
    # The searcher went on with its state: Optuna's study holds both trials, each told its result.
    searcher = pickle.loads(sorted((exp / "trials").glob("searcher-state-*.pkl"))[-1].read_bytes())
    study = searcher["_ot_study"]
    assert len(study.trials) == 2 and all(t.state.name == "COMPLETE" for t in study.trials)
    # The study is kept in the experiment folder, resumed with the sweep: optuna-dashboard (its own server and HTTP
    # API) shows each trial once, none left running, with the values and parameters the sweep ranked them by.
    with optuna_dashboard(exp / "optuna" / "study.log") as trials_of:
        shown = [t for t in trials_of("stopped") if not any(a["key"] == "not_trained" for a in t["user_attrs"])]
    assert [t["state"] for t in shown] == ["Complete", "Complete"], shown
    assert sorted(t["values"][0] for t in shown) == pytest.approx(
        sorted(r.value("train/loss") for r in experiment.rows)
    )
    assert sorted(
        float(p["param_external_value"]) for t in shown for p in t["params"] if p["name"] == "optimizer.lr"
    ) == pytest.approx(sorted(r.params["optimizer.lr"] for r in experiment.rows))

    # A new sweep warm-started from this one tells Optuna both results before its first trial (nothing retrained).
    from orchestrator.sweep.prepare import prepare

    prepared = prepare("search_spaces/act.py", [*args[2:], "--tune.experiment_name=warm", f"--tune.warm_start={exp}"])
    searcher = search_algorithm(prepared.tune_cfg, 1, prepared.space, prepared.warm_start)
    searcher.set_search_properties("train/loss", "min", prepared.space)
    told = sorted((t.value, t.params["optimizer.lr"]) for t in searcher._ot_study.trials)
    assert told == sorted((r.value("train/loss"), r.params["optimizer.lr"]) for r in experiment.rows)
    assert all(t.state.name == "COMPLETE" for t in searcher._ot_study.trials)


def test_sigterm_stops_train_and_resume_continues_from_its_last_checkpoint(tmp_path, tiny_dataset):
    out_dir = tmp_path / "run"
    args = [
        "train",
        *TINY_ACT,
        "--steps=400",
        "--log_freq=10",
        "--save_freq=20",
        "--eval_freq=0",
        f"--output_dir={out_dir}",
        "--dataset.record_episodes=3",
    ]
    train = Command(args, tmp_path / "train.log")
    train.wait_for(lambda: "step:60 " in train.output())
    took = train.interrupt(signal.SIGTERM, group=False)
    assert train.proc.returncode == 130 and took < STOP_WITHIN_S, train.output()[-3000:]
    assert f"{' '.join(args[1:])} --resume=true" in train.output()
    # the last checkpoint Ray Train registered (one whose write the signal cut short is on disk, rightly unused)
    kept = max(r["step"] for r in registered(out_dir))
    assert kept >= 40
    again = Command([*args, "--resume=true"], tmp_path / "again.log")  # continues from the last checkpoint ...
    again.wait_for(lambda: f"step:{kept + 10} " in again.output())
    assert f"step:{kept} " not in again.output()
    # ... and stops again the same way (training it to step 400 would prove nothing more)
    assert again.interrupt(signal.SIGTERM, group=False) < STOP_WITHIN_S and again.proc.returncode == 130


def test_ctrl_c_stops_eval(tmp_path, cache_dir):
    evaluation = Command(
        ["eval", "--expert=true", "--eval.n_episodes=200", "--eval.batch_size=10", f"--output_dir={tmp_path / 'eval'}"],
        tmp_path / "eval.log",
    )
    evaluation.wait_for(lambda: "Ray dashboard" in evaluation.output())
    time.sleep(3)
    took = evaluation.interrupt(signal.SIGINT, group=True)
    assert evaluation.proc.returncode == 130 and took < STOP_WITHIN_S, evaluation.output()[-3000:]
    assert "interrupted" in evaluation.output() and not (tmp_path / "eval" / "eval_info.json").exists()
