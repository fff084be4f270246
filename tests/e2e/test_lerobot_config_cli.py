"""`train --config_path=<LeRobot train_config.json> --dry-run` as a user runs it: the config LeRobot 0.4.4 wrote
becomes ours, builds a policy with exactly the parameter count LeRobot logged for that run, and the fields we do not
support are named in one note; an unusable LeRobot config exits 2 without a traceback."""

import json

import pytest

from tests.support.cli import run_cli
from tests.support.hub_server import LocalHub
from tests.unit.test_lerobot_train_config import FIXTURES, lerobot


@pytest.mark.parametrize(
    "name, n_params, noted",
    [
        ("act_pusht", "126,274", "tolerance_s = 0.001"),  # lerobot-train logged num_learnable_params=126274
        ("diffusion_pusht", "484,706", "dataset.video_backend = 'pyav'"),  # and 484706
    ],
)
def test_dry_run_of_a_lerobot_train_config(name, n_params, noted):
    proc = run_cli("train", f"--config_path={FIXTURES / name / 'train_config.json'}", "--dry-run", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"builds a {name.split('_')[0]} policy with {n_params} parameters" in proc.stdout
    assert proc.stderr.count("note: from LeRobot's train_config.json") == 1 and noted in proc.stderr
    assert "Traceback" not in proc.stderr
    config = json.loads(proc.stdout[: proc.stdout.rindex("}") + 1])
    assert config["steps"] == lerobot(name)["steps"] and config["policy"]["type"] == lerobot(name)["policy"]["type"]


def test_unusable_lerobot_config_exits_2(tmp_path):
    data = lerobot("act_pusht")
    data["policy"]["type"] = "smolvla"
    (tmp_path / "train_config.json").write_text(json.dumps(data))
    proc = run_cli("train", f"--config_path={tmp_path}", "--dry-run")  # a folder holding train_config.json
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "policy.type = 'smolvla': LeRobot's policy has no counterpart here" in proc.stderr


def test_hub_model_repo_id_as_config_path(tmp_path):
    """`--config_path=<org>/<name>` downloads the repo's train_config.json, as LeRobot's `--config_path` does."""
    with LocalHub(token="hf_test") as hub:
        hub.serve("robot-lab/act_tiny", FIXTURES / "act_pusht", repo_type="model")
        (tmp_path / "weights_only").mkdir()
        (tmp_path / "weights_only" / "config.json").write_text("{}")
        hub.serve("robot-lab/weights_only", tmp_path / "weights_only", repo_type="model")
        env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "", "HF_HUB_OFFLINE": "0"}
        proc = run_cli("train", "--config_path=robot-lab/act_tiny", "--dry-run", env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "builds a act policy with 126,274 parameters" in proc.stdout
        assert "note: from LeRobot's train_config.json (robot-lab/act_tiny (Hub))" in proc.stderr
        assert any("/robot-lab/act_tiny/resolve/main/train_config.json" in call for call in hub.calls)
        for repo_id, fragment in [
            ("robot-lab/weights_only", "is a Hub model repo without train_config.json"),
            ("robot-lab/nothing", "is neither a local file nor a Hub model repo"),
        ]:
            proc = run_cli("train", f"--config_path={repo_id}", "--dry-run", env=env)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
            assert f"config_path = '{repo_id}': {fragment}" in proc.stderr
    # offline afterwards: the downloaded copy in the cache is used
    proc = run_cli("train", "--config_path=robot-lab/act_tiny", "--dry-run", env={**env, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
