"""cluster.yaml passes the validation `ray up` runs, and describes the cluster our sweeps need.

`ray up` loads the YAML, merges it with the provider's defaults (`prepare_config`) and checks the result
against ray/autoscaler/ray-schema.json plus a few cross-field rules (`validate_config`); these tests call
the same two functions, so they need neither a cloud account nor a running Ray. Broken copies of the file
must be rejected, which shows the validation is not vacuous.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER_YAML = Path(__file__).resolve().parents[2] / "cluster.yaml"
PROJECT_INSTALL = "pip install -c constraints.txt -e ."


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


def ray_up_config(config: dict) -> dict:
    """The config `ray up` would launch, after the checks it runs before touching the cloud."""
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def gpu_worker_types(config: dict) -> dict[str, dict]:
    return {
        name: node
        for name, node in config["available_node_types"].items()
        if name != config["head_node_type"] and node["resources"].get("GPU", 0) >= 1
    }


def test_cluster_yaml_passes_ray_validation(raw):
    ray_up_config(raw)


def test_a_gpu_worker_type_can_be_launched(raw):
    config = ray_up_config(raw)
    gpu_types = gpu_worker_types(config)
    assert gpu_types, "cluster.yaml needs a worker node type with resources {'GPU': >= 1}"
    for name, node in gpu_types.items():
        assert node["resources"].get("CPU", 0) >= 1, f"{name}: a Train worker also needs CPUs"
        assert 0 <= node["min_workers"] <= node["max_workers"] <= config["max_workers"], name
        assert node["max_workers"] >= 1, f"{name}: max_workers must allow at least one node"
    assert config["available_node_types"][config["head_node_type"]]["resources"].get("GPU", 0) == 0


def test_every_node_installs_the_project_with_our_constraints(raw):
    config = ray_up_config(raw)
    # After prepare_config, head_setup_commands = setup_commands + head_setup_commands.
    assert any(PROJECT_INSTALL in cmd for cmd in config["head_setup_commands"])
    for name, node in gpu_worker_types(config).items():
        commands = node.get("worker_setup_commands", config["worker_setup_commands"])
        install = next(i for i, cmd in enumerate(commands) if PROJECT_INSTALL in cmd)
        cuda_torch = [
            i for i, cmd in enumerate(commands) if "torch==2.13.0" in cmd and "download.pytorch.org/whl/cu" in cmd
        ]
        assert cuda_torch and cuda_torch[0] < install, (
            f"{name}: install torch==2.13.0 from a CUDA index before the project, or the CPU wheel wins"
        )


def test_every_node_starts_ray_with_the_shared_auth_token(raw):
    config = ray_up_config(raw)
    assert "~/.ray/auth_token" in config["file_mounts"]
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [cmd for cmd in config[key] if "ray start" in cmd]
        assert starts and all("RAY_AUTH_MODE=token" in cmd for cmd in starts), key


def _misspelled_top_level_key(config: dict) -> None:
    config["setup_comands"] = config.pop("setup_commands")


def _fractional_gpu_resource(config: dict) -> None:
    config["available_node_types"]["gpu_worker"]["resources"]["GPU"] = 0.5


def _unknown_head_node_type(config: dict) -> None:
    config["head_node_type"] = "ray.head.default"


def _min_workers_above_cluster_max(config: dict) -> None:
    config["available_node_types"]["gpu_worker"]["min_workers"] = config["max_workers"] + 1


@pytest.mark.parametrize(
    "breakage, error, message",
    [
        (_misspelled_top_level_key, jsonschema.ValidationError, "'setup_comands' was unexpected"),
        (_fractional_gpu_resource, jsonschema.ValidationError, "0.5 is not of type 'integer'"),
        (_unknown_head_node_type, ValueError, "`head_node_type` must be one of"),
        (_min_workers_above_cluster_max, ValueError, "sum of `min_workers`"),
    ],
)
def test_a_broken_copy_is_rejected(raw, breakage, error, message):
    broken = copy.deepcopy(raw)
    breakage(broken)
    with pytest.raises(error, match=re.escape(message)):
        ray_up_config(broken)
