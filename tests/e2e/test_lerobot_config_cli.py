"""`train --config_path=<LeRobot train_config.json> --dry-run` as a user runs it: the config LeRobot 0.4.4 wrote
becomes ours, builds a policy with exactly the parameter count LeRobot logged for that run, and the fields we do not
support are named in one note; an unusable LeRobot config exits 2 without a traceback."""
import json

import pytest

from tests.e2e.test_cli import run_cli
from tests.unit.test_lerobot_train_config import FIXTURES, lerobot


@pytest.mark.parametrize("name, n_params, noted", [
    ("act_pusht", "126,274", "tolerance_s = 0.001"),  # lerobot-train logged num_learnable_params=126274
    ("diffusion_pusht", "484,706", "dataset.video_backend = 'pyav'"),  # and 484706
])
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
