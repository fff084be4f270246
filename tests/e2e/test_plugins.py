"""Bring your own policy or env: a package outside the project, named by --policy/--env.discover_packages_path,
documents itself in --help, builds in --dry-run, and is swept for real (the Ray workers and evaluator actors import
it too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lerobot_kit import STATE_DATASET
from tests.support.plugin_kit import PACKAGE, write_plugin

ROOT = Path(__file__).resolve().parents[2]
MINE = [f"--policy.discover_packages_path={PACKAGE}", "--policy.type=linear_chunk"]


def run_cli(plugins: Path, *args, env=None, timeout=120):
    path = os.pathsep.join(p for p in (str(plugins), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
    )


def test_help_and_dry_run_of_a_policy_and_env_of_ones_own(tmp_path):
    plugins = write_plugin(tmp_path / "plugins")
    mine = [*MINE, f"--env.discover_packages_path={PACKAGE}", "--env.type=my_pendulum"]
    proc = run_cli(plugins, "train", *mine, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--policy.chunk_size: int = 4" in proc.stdout and "actions predicted at once" in proc.stdout
    assert "--env.gravity: float = 10.0" in proc.stdout and "the pendulum's gravity" in proc.stdout
    assert "--policy.kl_weight" not in proc.stdout and "--env.obs_type" not in proc.stdout
    proc = run_cli(plugins, "train", *mine, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "builds a linear_chunk policy with 16 parameters" in proc.stdout  # 3 state values -> 4 actions of 1


@pytest.mark.e2e
def test_a_sweep_of_a_policy_of_ones_own(tmp_path):
    plugins = write_plugin(tmp_path / "plugins")
    space = tmp_path / "space.py"  # searches the optimizer's lr; the policy comes from the command line
    space.write_text(
        "from ray import tune\n"
        "from orchestrator.configs.optim import AdamConfig\n"
        "from orchestrator.configs.train import TrainPipelineConfig\n"
        "from orchestrator.configs.tune import Sweep\n"
        "sweep = Sweep(base=TrainPipelineConfig(optimizer=AdamConfig(lr=tune.loguniform(1e-4, 1e-2))))\n"
    )
    proc = run_cli(
        plugins,
        "sweep",
        str(space),
        *MINE,
        f"--dataset.root={STATE_DATASET}",
        "--env.type=pusht",
        "--env.episode_length=10",
        "--steps=4",
        "--batch_size=8",
        "--log_freq=2",
        "--save_freq=4",
        "--eval_freq=4",
        "--eval.n_episodes=1",
        "--eval.batch_size=1",
        "--tune.num_samples=1",
        "--tune.search=random",
        "--tune.scheduler=none",
        "--tune.baseline=false",
        "--tune.metric=train/loss",
        "--tune.mode=min",
        f"--tune.storage_path={tmp_path / 'sweeps'}",
        "--tune.experiment_name=mine",
        "--verbose",
        env={"ROBOT_SWEEPS_CACHE": str(tmp_path / "cache")},
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # --verbose: Ray's own lines reach the terminal too (without it they go to Ray's logs: test_cli.py's demo test)
    assert "Reporting training result" in out and "TrainingReport(" in out, out[-4000:]
    summary = json.loads((tmp_path / "sweeps" / "mine" / "summary.json").read_text())
    assert [t["status"] for t in summary["trials"]] == ["finished"], summary["trials"]
    assert all(t["evaluations"] for t in summary["trials"])  # the evaluator actors built the policy too
    configs = list((tmp_path / "sweeps" / "mine" / "train").glob("trial_*/checkpoint_*/pretrained_model/config.json"))
    assert configs and {json.loads(c.read_text())["type"] for c in configs} == {"linear_chunk"}
