"""Runs resume at the right step from their last checkpoint. (DDP over two workers, one of them killed, resuming bit
for bit; killed evaluators, drivers and nodes: tests/faults/.)"""

import json
from pathlib import Path

import pytest

from orchestrator.configs.parsing import parse_train_args
from tests.conftest import TINY_ACT
from trainables.trial import fit_trainer

pytestmark = pytest.mark.integration

BASE = [
    *TINY_ACT,
    "--policy.chunk_size=4",
    "--policy.n_action_steps=4",
    "--batch_size=16",
    "--log_freq=5",
    "--env.episode_length=30",
    "--eval.n_episodes=2",
    "--eval.batch_size=2",
]


def _losses(result) -> dict[int, float]:
    df = result.metrics_dataframe
    return dict(zip(df["step"].astype(int), df["train/loss"]))


def test_restarted_run_resumes_exactly_where_the_uninterrupted_run_would_be(tmp_path, tiny_dataset, ray_cluster):
    args = [*BASE, "--save_freq=10", "--eval_freq=0"]  # 3 short episodes, 16 a batch: step 20 lies mid-epoch
    first = fit_trainer(
        parse_train_args([*args, "--steps=20"]), run_name="run", storage=str(tmp_path), report_to_tune=False
    )
    assert first.error is None and first.metrics["step"] == 20
    # Same storage and run name: the trainer restores the run's checkpoints; the loop continues at step 20.
    second = fit_trainer(
        parse_train_args([*args, "--steps=30"]), run_name="run", storage=str(tmp_path), report_to_tune=False
    )
    assert second.error is None
    assert second.metrics["start_step"] == 20 and second.metrics["step"] == 30
    steps = sorted(
        json.loads((c / "training_state/training_step.json").read_text())["step"]
        for c in (tmp_path / "run").glob("checkpoint_*")
        if c.is_dir()
    )
    assert steps[-3:] == [10, 20, 30]
    # Bit for bit what a run that was never interrupted computes: data order within the epoch, RNG, optimizer.
    whole = fit_trainer(
        parse_train_args([*args, "--steps=30"]), run_name="whole", storage=str(tmp_path), report_to_tune=False
    )
    resumed = {**_losses(first), **_losses(second)}
    assert resumed == _losses(whole) and sorted(resumed) == [10, 20, 30]  # Train keeps the checkpointed reports
    assert (Path(second.checkpoint.path) / "pretrained_model/model.safetensors").read_bytes() == (
        Path(whole.checkpoint.path) / "pretrained_model/model.safetensors"
    ).read_bytes()
    # Ray Train V2 starts a DatasetManager actor for every worker group, Ray Datasets or not; our TorchTrainer
    # (trainables/trial.py) leaves it out when a run has none: none of these runs (nor any before them) started one.
    from ray.util.state import list_actors

    assert list_actors(filters=[("class_name", "=", "SynchronizationActor")])  # the state API sees Train's actors
    assert not list_actors(filters=[("class_name", "=", "DatasetManager")])
