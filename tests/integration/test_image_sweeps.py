"""The shipped search spaces for image policies run a tiny real sweep on PushT pixels: ACT (ResNet-18 backbone +
agent position) and Diffusion Policy, each trial a TorchTrainer, evaluated from pixels by the async actors."""

import json
from pathlib import Path

import pytest

from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.recipe import finish, search
from tests.conftest import TINY_ACT

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMMON = [
    "--steps=10",
    "--batch_size=8",
    "--log_freq=5",
    "--save_freq=10",
    "--eval_freq=10",
    "--eval.n_episodes=2",
    "--eval.batch_size=2",
    "--env.episode_length=16",
    "--tune.num_samples=1",
    "--tune.baseline=false",
    "--tune.scheduler=none",
]
SPACES = {
    "act": ["--env.obs_type=pixels_agent_pos", "--dataset.repo_id=local/pusht_pixels_expert", *TINY_ACT],
    "diffusion": [
        "--policy.down_dims=[16,32]",
        "--policy.horizon=8",
        "--policy.n_action_steps=4",
        "--policy.num_inference_steps=2",
        "--policy.diffusion_step_embed_dim=8",
        "--policy.kernel_size=3",
        "--policy.spatial_softmax_num_keypoints=4",
    ],
}


@pytest.mark.parametrize("name", sorted(SPACES))
def test_image_search_space_runs_a_tiny_sweep(name, tmp_path, tiny_pixels_dataset, ray_cluster):
    prepared = prepare(
        str(ROOT / "search_spaces" / f"{name}.py"),
        [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=img", *COMMON, *SPACES[name]],
    )
    assert "observation.image" in prepared.default_cfg.env.features()
    results, baseline = search(prepared)
    summary = finish(prepared, results, baseline)

    trials = summary["trials"]
    assert len(trials) == 1 and all(t["status"] == "finished" for t in trials), trials
    for t in trials:
        assert t["best_metrics"]["eval/n_episodes"] == 2 and t["last_metrics"]["step"] == 10
        saved = json.loads((Path(t["checkpoint_path"]) / "pretrained_model" / "config.json").read_text())
        assert saved["type"] == name and "observation.image" in saved["input_features"]
    assert (tmp_path / "img" / "best" / "model.safetensors").is_file()
