"""`--policy.path` to a policy LeRobot 0.4.4 wrote (../shared/lerobot/fixtures: `save_pretrained`; and a checkpoint
folder `lerobot-train` wrote, tests/fixtures/lerobot_train), as a folder or a Hub id served by the local Hub: evaluated
in the simulator, and fine-tuned on the dataset LeRobot wrote into a LeRobot policy folder."""

from __future__ import annotations

import json
import re

import pytest
from safetensors import safe_open

from tests.support.cli import run_on_cluster
from tests.support.hub_server import LocalHub
from tests.support.lerobot_kit import ACT_TINY, LEROBOT_TRAIN_ACT, STATE_DATASET

SMALL_EVAL = ["--eval.n_episodes=2", "--eval.batch_size=2"]


def tensor_names(path) -> set[str]:
    with safe_open(str(path), "pt") as f:
        return set(f.keys())


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_a_lerobot_policy_on_the_hub_is_downloaded_and_evaluated(tmp_path, monkeypatch, ray_cluster):
    with LocalHub(token="hf_test") as hub:
        hub.serve("robot-lab/act_tiny", ACT_TINY, repo_type="model")
        # the driver downloads the policy and hands its weights to the evaluators: only its environment names the Hub
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        proc = run_on_cluster("eval", "--policy.path=robot-lab/act_tiny", *SMALL_EVAL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "policy " in proc.stdout and "(act) on pusht, 2 episodes" in proc.stdout and "success" in proc.stdout
    downloaded = {p.name for p in (tmp_path / "hub").rglob("*") if p.is_file() or p.is_symlink()}
    assert {
        "config.json",
        "model.safetensors",
        "policy_preprocessor.json",
        "policy_postprocessor.json",
        "policy_preprocessor_step_3_normalizer_processor.safetensors",
    } <= downloaded


@pytest.mark.e2e
@pytest.mark.timeout(300)
@pytest.mark.parametrize("saved", [ACT_TINY, LEROBOT_TRAIN_ACT], ids=["save_pretrained", "lerobot_train"])
def test_a_lerobot_policy_fine_tuned_on_a_lerobot_dataset_is_a_lerobot_policy_folder(tmp_path, saved, ray_cluster):
    out = tmp_path / "run"
    proc = run_on_cluster(
        "train",
        f"--policy.path={saved}",
        f"--dataset.root={STATE_DATASET}",
        "--steps=4",
        "--batch_size=8",
        "--log_freq=2",
        "--eval_freq=4",
        "--save_freq=4",
        *SMALL_EVAL,
        f"--output_dir={out}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (folder,) = out.glob("checkpoint_*/pretrained_model")
    assert {p.name for p in saved.iterdir()} <= {p.name for p in folder.iterdir()}
    config, original = (json.loads((f / "config.json").read_text()) for f in (folder, saved))
    assert set(config) == set(original) and config["pretrained_path"] == str(saved.resolve())
    assert tensor_names(folder / "model.safetensors") == tensor_names(saved / "model.safetensors")
    assert json.loads((folder / "train_config.json").read_text())["steps"] == 4
    if saved == LEROBOT_TRAIN_ACT:  # trained 50 steps by lerobot-train (from scratch: 11.4 over its first 10 steps)
        assert float(re.search(r"step:2 .*?loss:([\d.]+)", proc.stdout).group(1)) < 2  # fine-tuning starts there
