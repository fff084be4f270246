"""A full disk stops the sweep with one message (issue 19): on a small tmpfs the sweep ends at the first sign that
the next checkpoints will not fit, names the storage path, what it holds and what is free, and the command that
resumes; exit 1, no traceback. Nothing is lost: with room made, that command finishes the sweep."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import TINY_ACT
from tests.support.cli import run_cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_volume(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.fail(f"this test mounts a 24 MB tmpfs and needs root for it (CI runs as root): {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_sweep_with_one_message_and_resume_finishes_it(small_volume, tiny_dataset):
    args = [
        "sweep",
        "search_spaces/act.py",
        f"--tune.storage_path={small_volume}",
        "--tune.experiment_name=full",
        "--tune.num_samples=1",
        "--tune.metric=train/loss",
        "--tune.mode=min",
        "--tune.scheduler=none",
        "--tune.confirm_top_k=0",
        "--tune.baseline=false",
        *TINY_ACT,
        "--policy.dim_model=128",
        "--policy.dim_feedforward=512",
        "--steps=60",
        "--log_freq=10",
        "--save_freq=10",
        "--eval_freq=0",
        "--dataset.record_episodes=3",
    ]
    proc = run_cli(*args, timeout=400)
    err = proc.stderr
    assert proc.returncode == 1, (proc.stdout + err)[-3000:]
    assert "Traceback" not in proc.stdout + err and "Tuner.restore" not in proc.stdout + err  # ours, not Tune's
    [message] = [line for line in err.splitlines() if line.startswith("error: ")]
    assert f"error: storage full: {small_volume / 'full'} has " in message and "free" in message and "holds" in message
    assert "--tune.resume=true" in err.split(message, 1)[1]
    subprocess.run(["mount", "-o", "remount,size=400m", str(small_volume)], check=True)  # room made
    again = run_cli(*args, "--tune.resume=true", timeout=400)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert (small_volume / "full" / "summary.json").is_file()
    from orchestrator.runtime.experiment import load_experiment

    rows = load_experiment(small_volume / "full").rows  # the stopped trial went on to its last step, not restarted
    assert [r.status for r in rows] == ["finished"] and rows[0].metrics["step"] == 60
    assert rows[0].metrics["start_step"] > 0  # from its last checkpoint before the disk filled
