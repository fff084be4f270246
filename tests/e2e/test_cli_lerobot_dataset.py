"""The CLI on a dataset LeRobot 0.4.4 wrote: `train` reads it from --dataset.root (on the session's cluster) or, in a
new interpreter with its own Ray as a user runs it, from the (local) Hub at a revision; a broken copy, or a
dataset.root that holds no dataset, exits 2 naming the file, before Ray starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import TINY_ACT
from tests.support.cli import run_cli, run_in_process, run_on_cluster
from tests.support.hub_server import LocalHub

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = "../shared/lerobot/fixtures/datasets/state"  # relative to the repo root, as a user would type it
TINY_RUN = ["--env.type=pusht", "--policy.type=act", *TINY_ACT, "--steps=4", "--log_freq=2", "--save_freq=4"]
RAY_STARTED = ("Ray dashboard", "Started a local Ray instance")  # what starting a local Ray prints


def ray_started(output: str) -> bool:
    return any(marker in output for marker in RAY_STARTED)


@pytest.mark.e2e
def test_train_on_the_lerobot_fixture_from_dataset_root(tmp_path, ray_cluster):
    # on the session's cluster (its workers read the folder as given); the process's own Ray and terminal: below
    proc = run_on_cluster(
        "train",
        f"--dataset.root={FIXTURE}",
        *TINY_RUN,
        "--eval_freq=4",
        "--eval.n_episodes=2",
        "--eval.batch_size=2",
        f"--output_dir={tmp_path / 'run'}",
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert f"done: {tmp_path / 'run'}" in proc.stdout
    assert "step:2 smpl:" in proc.stdout and "| eval@4: success:" in proc.stdout  # LeRobot's log line, with evals
    assert list((tmp_path / "run").glob("checkpoint_*/pretrained_model/model.safetensors"))


@pytest.mark.e2e
def test_train_on_the_lerobot_fixture_from_the_hub_at_a_revision(tmp_path):
    with LocalHub(token="hf_unused") as hub:
        sha = hub.serve("lerobot/state", ROOT / FIXTURE, repo_type="dataset", revision="v3.0")
        proc = run_cli(
            "train",
            "--dataset.repo_id=lerobot/state",
            "--dataset.revision=v3.0",
            *TINY_RUN,
            "--eval_freq=0",
            f"--output_dir={tmp_path / 'run'}",
            env={
                "HF_ENDPOINT": hub.url,
                "HF_HUB_CACHE": str(tmp_path / "hub"),
                "HF_HUB_OFFLINE": "0",
                "ROBOT_SWEEPS_CACHE": str(tmp_path / "cache"),
            },
            timeout=300,
        )
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
        assert "GET /api/datasets/lerobot/state/revision/v3.0" in hub.calls
    assert "step:2 smpl:" in proc.stdout and f"done: {tmp_path / 'run'}" in proc.stdout
    assert "Reporting training result" not in proc.stdout + proc.stderr  # Ray's internals only with --verbose
    assert ray_started(proc.stdout + proc.stderr)  # so that the tests below, which see no such line, mean something
    assert (tmp_path / "hub" / "datasets--lerobot--state" / "snapshots" / sha / "meta/info.json").is_file()
    assert list((tmp_path / "run").glob("checkpoint_*/pretrained_model/model.safetensors"))


def _truncate_data(root: Path) -> str:
    path = root / "data/chunk-000/file-000.parquet"
    path.write_bytes(path.read_bytes()[:1000])
    return str(path)


def _episode_out_of_range(root: Path) -> str:
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(path)
    index = table.column_names.index("episode_index")
    pq.write_table(table.set_column(index, "episode_index", pa.array([0, 1, 7], pa.int64())), path)
    return str(root / "data/chunk-000/file-000.parquet")


@pytest.mark.parametrize(
    "command, damage, fragment",
    [
        (["train"], _truncate_data, "truncated or corrupt"),
        (["sweep", "search_spaces/act.py"], _episode_out_of_range, "holds 18 frames of episode 2"),
    ],
    ids=["train-truncated-parquet", "sweep-episode-out-of-range"],
)
def test_a_broken_dataset_exits_2_naming_the_file_before_ray(tmp_path, monkeypatch, command, damage, fragment):
    root = Path(shutil.copytree(ROOT / FIXTURE, tmp_path / "ds"))
    named = damage(root)
    out_dir = (
        f"--tune.storage_path={tmp_path / 'sweeps'}" if command[0] == "sweep" else f"--output_dir={tmp_path / 'run'}"
    )
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))
    proc = run_in_process(*command, f"--dataset.root={root}", *TINY_RUN, "--eval_freq=4", out_dir)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert named in proc.stderr and fragment in proc.stderr
    assert "Traceback" not in out and not ray_started(out) and not proc.started_ray
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweeps").exists()


def test_a_dataset_root_that_holds_no_dataset_is_refused_not_recorded_into(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))
    proc = run_in_process("train", f"--dataset.root={tmp_path / 'typo'}", f"--output_dir={tmp_path / 'run'}")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"dataset.root = '{tmp_path / 'typo'}': no LeRobotDataset there" in proc.stderr
    assert "Traceback" not in proc.stderr and not ray_started(proc.stdout + proc.stderr) and not proc.started_ray
    assert not (tmp_path / "typo").exists()
