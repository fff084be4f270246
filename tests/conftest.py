"""Shared fixtures: a tiny recorded dataset and one local multi-node Ray cluster per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.2"
os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"

# scripts/test.sh sets it to "own" in the lane of tests that start no shared cluster (their own Ray, or none)
LANE = "ROBOT_SWEEPS_TEST_LANE"

TINY_ACT = [
    "--policy.dim_model=32",
    "--policy.n_heads=2",
    "--policy.dim_feedforward=64",
    "--policy.n_encoder_layers=1",
    "--policy.n_vae_encoder_layers=1",
    "--policy.latent_dim=8",
]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """ROBOT_SWEEPS_CACHE for the whole session, set before Ray starts so every worker sees it."""
    path = tmp_path_factory.mktemp("cache")
    os.environ["ROBOT_SWEEPS_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_dataset(cache_dir) -> Path:
    """The default local dataset, recorded with 3 expert episodes (the real PushT env and expert)."""
    from orchestrator.configs.train import DatasetConfig
    from orchestrator.datasets.record import ensure_dataset
    from orchestrator.envs.configs import PushTEnvConfig

    return ensure_dataset(DatasetConfig(record_episodes=3), PushTEnvConfig())


@pytest.fixture(scope="session")
def tiny_pixels_dataset(cache_dir) -> Path:
    """PushT from pixels (96x96 camera as AV1 video + agent position), 3 expert episodes."""
    from orchestrator.configs.train import DatasetConfig
    from orchestrator.datasets.record import ensure_dataset
    from orchestrator.envs.configs import PushTEnvConfig

    return ensure_dataset(
        DatasetConfig(repo_id="local/pusht_pixels_expert", record_episodes=3),
        PushTEnvConfig(obs_type="pixels_agent_pos"),
    )


@pytest.fixture(scope="session")
def ray_cluster(cache_dir):
    """A head and a second Ray node on this machine (2 logical CPUs each), shared by every integration test."""
    import ray
    from ray.cluster_utils import Cluster

    from orchestrator.runtime.ray_start import free_port, set_ray_env, worker_env

    if os.environ.get(LANE) == "own":
        pytest.fail(
            "this test uses the shared Ray cluster but ran in the lane without it (scripts/test.sh): a test that asks "
            "for ray_cluster only as it runs needs @pytest.mark.cluster"
        )

    node = {"num_cpus": 2, "memory": 3 * 2**30, "object_store_memory": 300 * 2**20}
    port = free_port(8300)
    os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{port}"  # see orchestrator.runtime.ray_start.connect_ray
    # A node killed by the fault tier is declared dead after 5 failed health checks 1 s apart (Ray's default: 3 s
    # apart, ~15 s); a live node's raylet, slow under load, still has 5 s to answer each
    health = {"health_check_period_ms": 1000, "health_check_timeout_ms": 5000, "health_check_failure_threshold": 5}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            **node,
            "include_dashboard": True,
            "dashboard_host": "127.0.0.1",
            "dashboard_port": port,
            "_system_config": health,
        },
    )
    cluster.add_node(**node)
    cluster.wait_for_nodes()
    set_ray_env()  # the product's Ray settings (orchestrator/runtime/ray_start.py), reaching the workers as in a sweep
    ray.init(address=cluster.address, runtime_env={"env_vars": worker_env({"ROBOT_SWEEPS_CACHE": str(cache_dir)})})
    yield cluster
    ray.shutdown()
    cluster.shutdown()
    os.environ.pop("RAY_API_SERVER_ADDRESS", None)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server (moto's, in its own process) for the session; tests set its `env` themselves."""
    from tests.support.s3_server import S3Server

    with S3Server(log=tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server


SLOW_MARKERS = {"integration", "e2e", "faults"}
SLOW_FIXTURES = {"ray_cluster", "s3_server"}


def pytest_collection_modifyitems(config, items):
    """Two marks set here. `fast` (the inner loop, `-m fast`): every test that starts no Ray cluster, trains no sweep
    and runs no fault; the tiers marked integration, e2e and faults, and anything using the shared cluster, are the
    rest. `cluster`: every test on the session's shared Ray cluster (the `ray_cluster` fixture, or marked so because
    it asks for the fixture only as it runs); scripts/test.sh runs those in one pytest process and the rest beside it
    in another."""
    for item in items:
        markers = {m.name for m in item.iter_markers()}
        if not (markers & SLOW_MARKERS or set(item.fixturenames) & SLOW_FIXTURES):
            item.add_marker(pytest.mark.fast)
        if "ray_cluster" in item.fixturenames and "cluster" not in markers:
            item.add_marker(pytest.mark.cluster)
