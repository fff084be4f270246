"""Faults inside one run (`train`'s fit_trainer: Ray Train retries a crashed worker group once), injected by pid:
a killed Train worker, a checkpoint write killed half-way, a killed evaluator. Each test asserts what was kept and
at which step training continued."""

import json
import threading
from functools import partial
from pathlib import Path

import pytest

from orchestrator import metrics as M
from orchestrator.configs.parsing import parse_train_args
from tests.conftest import TINY_ACT
from tests.faults import inject
from tests.faults.inject import (
    actor_ids,
    alive_actors,
    assert_complete_and_loadable,
    attempts,
    kill,
    registered,
    wait_for,
)
from trainables import trial
from trainables.trial import fit_trainer

pytestmark = pytest.mark.faults

BASE = [
    *TINY_ACT,
    "--policy.chunk_size=4",
    "--policy.n_action_steps=4",
    "--batch_size=16",
    "--env.episode_length=30",
    "--eval.n_episodes=2",
    "--eval.batch_size=2",
]


def _fit_recording(args: list[str], storage: Path, run_name: str, on_report=None) -> tuple[object, list[dict]]:
    """fit_trainer outside Tune; every report of rank 0, in order (those of a crashed attempt included)."""
    reports = []

    def record(metrics: dict) -> None:
        reports.append(metrics)
        if on_report:
            on_report(metrics)

    result = fit_trainer(
        parse_train_args(args), run_name=run_name, storage=str(storage), report_to_tune=False, on_report=record
    )
    return result, reports


def test_killed_train_worker_resumes_from_its_last_checkpoint_bit_for_bit(tmp_path, tiny_dataset, ray_cluster):
    """SIGKILL one of two DDP workers mid-run: the worker group restarts from the last registered checkpoint, and
    every loss after it equals, bit for bit, the loss of a run never interrupted (data order within the epoch, every
    rank's RNG, optimizer, scheduler). The restored step is evaluated again (its evaluation may have been in flight
    at the kill), on the same episodes, with the same result."""
    args = [*BASE, "--steps=40", "--log_freq=10", "--save_freq=10", "--eval_freq=10", "--resources.num_workers=2"]
    killed, earlier = [], actor_ids("RayTrainWorker")

    def kill_a_worker_after_step_20(metrics: dict) -> None:
        if metrics["step"] == 20 and not killed:  # relayed once Ray registered the step-20 checkpoint
            worker = alive_actors("RayTrainWorker", besides=earlier)[0]
            kill(worker.pid)
            killed.append(worker.pid)

    result, reports = _fit_recording(args, tmp_path, "killed", kill_a_worker_after_step_20)
    assert killed and result.error is None and result.metrics["step"] == 40
    assert result.metrics["world_size"] == 2 and all(r["world_size"] == 2 for r in reports)  # DDP, before and after
    first, resumed = attempts(registered(tmp_path / "killed"))
    kept = max(e["step"] for e in first)  # the last checkpoint registered before the kill
    assert kept >= 20 and resumed and {e["start_step"] for e in resumed} == {kept}
    assert [e["step"] for e in resumed] == list(range(kept + 10, 41, 10))
    assert result.metrics["start_step"] == kept
    evaluations = [(r["start_step"], e) for r in reports if M.EVALUATIONS in r for e in json.loads(r[M.EVALUATIONS])]
    again = [e for start, e in evaluations if start == kept and e["eval/step"] == kept]
    assert len(again) == 1 and {e["eval/step"] for _, e in evaluations} == {10, 20, 30, 40}
    before = [e for start, e in evaluations if start == 0 and e["eval/step"] == kept]
    assert all(e["eval/avg_max_reward"] == again[0]["eval/avg_max_reward"] for e in before)  # the same episodes

    whole, whole_reports = _fit_recording(args, tmp_path, "whole")
    expected = {r["step"]: r["train/loss"] for r in whole_reports}
    assert sorted(expected) == [10, 20, 30, 40]
    assert {r["step"] for r in reports} == set(expected)
    for r in reports:  # before the kill, and after the resume: the same numbers, not merely close ones
        assert r["train/loss"] == expected[r["step"]], (r["step"], r["start_step"])
    assert (Path(result.checkpoint.path) / "pretrained_model/model.safetensors").read_bytes() == (
        Path(whole.checkpoint.path) / "pretrained_model/model.safetensors"
    ).read_bytes()


def test_checkpoint_write_killed_half_way_is_never_the_latest(tmp_path, tiny_dataset, ray_cluster, monkeypatch):
    """Kill the worker while Ray copies the step-20 checkpoint to storage (pretrained_model/ copied, training_state/
    not): the half-written folder stays unregistered, the run resumes from step 10, and every registered checkpoint
    is complete and loads."""
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(inject)  # the workers need not import tests/
    marker = tmp_path / "stalled_pid"
    monkeypatch.setattr(
        trial,
        "train_loop_per_worker",
        partial(inject.loop_with_upload_stalled_half_way, at_step=20, marker=str(marker)),
    )
    killed = []

    def kill_the_stalled_writer():
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="the stalled checkpoint copy"))
        # Ray's controller registers a report when it next polls the worker: step 10's report, queued just before the
        # stall, must be registered before the kill (on a fast machine it was not yet, and the run restarted at 0)
        wait_for(lambda: [e["step"] for e in registered(tmp_path / "halfway")] == [10], what="step 10 registered")
        kill(pid)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_stalled_writer, daemon=True)
    killer.start()
    result = fit_trainer(
        parse_train_args([*BASE, "--steps=30", "--log_freq=10", "--save_freq=10", "--eval_freq=0"]),
        run_name="halfway",
        storage=str(tmp_path),
        report_to_tune=False,
    )
    killer.join(timeout=5)
    assert killed and result.error is None and result.metrics["step"] == 30

    run = tmp_path / "halfway"
    entries = registered(run)
    partial_dirs = [p.name for p in run.glob("checkpoint_*") if p.is_dir() and not (p / "training_state").exists()]
    assert len(partial_dirs) == 1 and (run / partial_dirs[0] / "pretrained_model/model.safetensors").is_file()
    assert partial_dirs[0] not in {e["dir"] for e in entries}  # the half-written copy was never registered
    first, resumed = attempts(entries)
    assert [e["step"] for e in first] == [10]  # the last checkpoint registered before the kill
    assert [(e["start_step"], e["step"]) for e in resumed] == [(10, 20), (10, 30)]  # step 20 written again, whole
    for e in entries:
        assert assert_complete_and_loadable(run / e["dir"]) == e["step"]
    assert Path(result.checkpoint.path).name == entries[-1]["dir"]


def test_killed_evaluator_is_restarted_and_every_evaluation_arrives(tmp_path, tiny_dataset, ray_cluster):
    """SIGKILL the evaluator actor while it evaluates: Ray restarts it and retries its task; training never
    restarts (start_step stays 0) and every evaluation, the interrupted one too, is reported."""
    killed, earlier = [], actor_ids("EvalActor")

    def kill_the_evaluator_once_it_works():
        alive = wait_for(lambda: alive_actors("EvalActor", besides=earlier), what="an evaluator")
        wait_for(lambda: registered(tmp_path / "evalkill"), what="the first evaluated checkpoint")
        kill(alive[0].pid)
        killed.append(alive[0].pid)

    killer = threading.Thread(target=kill_the_evaluator_once_it_works, daemon=True)
    killer.start()
    result, reports = _fit_recording(
        [*BASE, "--steps=100", "--log_freq=10", "--save_freq=100", "--eval_freq=10"], tmp_path, "evalkill"
    )
    killer.join(timeout=5)
    assert killed, "the evaluator was never seen alive"
    assert result.error is None and result.metrics["step"] == 100
    assert {r["start_step"] for r in reports} == {0}  # training went on, never restarted
    evaluated = [e["eval/step"] for r in reports if M.EVALUATIONS in r for e in json.loads(r[M.EVALUATIONS])]
    assert evaluated == list(range(10, 101, 10))
    assert result.metrics["eval/step"] == 100 and result.metrics["eval/n_episodes"] == 2
    wait_for(lambda: not alive_actors("EvalActor", besides=earlier), timeout=30, what="the pool to go with the run")
