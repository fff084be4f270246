"""`policy.device` means what LeRobot users mean (issue 19): cuda asks for the GPU (resources.use_gpu), cpu for
none, anything else is refused naming resources.use_gpu; a device recorded in a saved policy's config.json is where
it was trained, not a request."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestrator.configs.parsing import build_config, parse_cli, parse_train_args
from orchestrator.errors import UserError
from tests.support.lerobot_kit import ACT_TINY


def test_cuda_selects_the_gpu_and_cpu_none():
    assert parse_train_args(["--policy.type=act", "--policy.device=cuda"]).resources.use_gpu is True
    assert parse_train_args(["--policy.type=act", "--policy.device=cuda:1"]).resources.use_gpu is True
    assert parse_train_args(["--policy.type=act", "--policy.device=cpu"]).resources.use_gpu is False
    assert parse_train_args(["--policy.type=act"]).resources.use_gpu is False


def test_a_device_in_the_users_config_file_is_a_request_too(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("policy:\n  type: act\n  device: cuda\nsteps: 10\n")
    assert parse_train_args([f"--config_path={path}"]).resources.use_gpu is True


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--policy.device=mps"], "must be cpu or cuda"),
        (["--policy.device=cuda", "--resources.use_gpu=false"], "contradicts resources.use_gpu = false"),
        (["--policy.device=cpu", "--resources.use_gpu=true"], "contradicts resources.use_gpu = true"),
    ],
)
def test_other_devices_and_contradictions_are_refused_naming_the_field(args, fragment):
    with pytest.raises(UserError) as error:
        parse_train_args(["--policy.type=act", *args])
    (p,) = error.value.problems
    assert p.field == "policy.device" and fragment in p.message and "resources.use_gpu" in p.message


def test_a_saved_policys_device_is_not_a_request(tmp_path, capsys):
    folder = Path(shutil.copytree(ACT_TINY, tmp_path / "act_tiny"))  # written by LeRobot 0.4.4's save_pretrained
    config = json.loads((folder / "config.json").read_text())
    config["device"] = "cuda"  # as LeRobot's Hub checkpoints often say
    (folder / "config.json").write_text(json.dumps(config))
    cli, _ = parse_cli([f"--policy.path={folder}"])
    cfg = build_config(None, [cli])
    assert cfg.resources.use_gpu is False and cfg.policy.device is None
    assert "records device 'cuda' (where it was trained)" in capsys.readouterr().err
    cli, _ = parse_cli([f"--policy.path={folder}", "--policy.device=cuda"])  # asked for explicitly: a request
    assert build_config(None, [cli]).resources.use_gpu is True
