"""A sweep submitted with `ray job submit` to a two-node Ray cluster runs its trials on both nodes.

The cluster is what `ray up cluster.yaml` builds, shrunk onto this machine: a head started with
`ray start --head` and a second node joining it with `ray start --address`, two logical CPUs each. Token
authentication stays on, as Ray 2.60 has it by default: the test writes a fresh token to a file of its own
and points every Ray process and CLI call at it (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN_PATH), so it needs
no ~/.ray/auth_token, works with a fresh HOME (CI), and never touches the user's token.

Teardown kills only the processes this test started (each `ray start --block` and everything below it:
GCS, raylet, dashboard, workers, the job's driver). `ray stop` would kill every Ray on the machine.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from ray.job_submission import JobStatus, JobSubmissionClient

import psutil  # Ray ships psutil (ray/thirdparty_files) and puts it on sys.path when imported

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
RAY = str(Path(PYTHON).with_name("ray"))
# Two logical CPUs per node; each trial's Train worker asks for two, so the two trials land on different nodes.
NODE_CPUS = 2
NODE_MEMORY = 4 * 1024**3
NODE_OBJECT_STORE = 256 * 1024**2
NODE_START_TIMEOUT_S = 60
JOB_TIMEOUT_S = 130


@dataclass
class LocalCluster:
    """A running two-node cluster: where to reach it, and the environment its CLI calls need."""

    dashboard_url: str
    token: str
    env: dict[str, str]  # os.environ plus the token settings, for `ray ...` subprocesses

    def client(self) -> JobSubmissionClient:
        # The SDK in this process sends the token as a bearer header, as any REST client must.
        return JobSubmissionClient(self.dashboard_url, headers=self.authorization())

    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def node_ids(self) -> set[str]:
        """Ids of the alive nodes, from the dashboard's state API (the one `ray list nodes` calls)."""
        request = urllib.request.Request(f"{self.dashboard_url}/api/v0/nodes", headers=self.authorization())
        with urllib.request.urlopen(request, timeout=10) as reply:
            nodes = json.load(reply)["data"]["result"]["result"]
        return {node["node_id"] for node in nodes if node["state"] == "ALIVE"}


def _free_ports(n: int) -> list[int]:
    """n distinct ports free right now (held open together so the OS cannot hand out one twice)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("", 0))
        return [s.getsockname()[1] for s in sockets]


def _start_node(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`ray start --block ...` in its own session; returns once the node is up, fails with its log if not."""
    with open(log, "w") as out:
        process = subprocess.Popen([RAY, "start", "--block", *args], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    while "Ray runtime started" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            _kill_tree(process)
            pytest.fail(f"`ray start {' '.join(args)}` did not come up:\n{log.read_text()}")
        time.sleep(0.5)
    return process


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a `ray start --block` process and all its descendants, then reap it."""
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for proc in tree:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=10)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def two_node_cluster(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cluster")
    # Ray puts unix sockets under its temp dir and caps their path length: pytest's tmp_path is too long.
    temp_dir = Path(tempfile.mkdtemp(prefix="rs-e2e-", dir="/tmp"))
    token = secrets.token_hex(32)
    token_file = tmp_path / "auth_token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file), RAY_USAGE_STATS_ENABLED="0")
    gcs_port, dashboard_port, client_port, head_agent_port, node_agent_port = _free_ports(5)
    common = [
        "--node-ip-address=127.0.0.1", f"--num-cpus={NODE_CPUS}", f"--memory={NODE_MEMORY}",
        f"--object-store-memory={NODE_OBJECT_STORE}", f"--temp-dir={temp_dir}",
        "--min-worker-port=0", "--max-worker-port=0",  # workers bind OS-chosen ports: no clash with other Rays
    ]
    started: list[subprocess.Popen] = []
    try:
        started.append(_start_node(
            ["--head", f"--port={gcs_port}", f"--dashboard-port={dashboard_port}",
             f"--ray-client-server-port={client_port}", f"--dashboard-agent-listen-port={head_agent_port}",
             *common], env, tmp_path / "head.log"))
        started.append(_start_node(
            [f"--address=127.0.0.1:{gcs_port}", f"--dashboard-agent-listen-port={node_agent_port}", *common],
            env, tmp_path / "node.log"))
        yield LocalCluster(f"http://127.0.0.1:{dashboard_port}", token, env)
    finally:
        for process in reversed(started):
            _kill_tree(process)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _submit_and_wait(cluster: LocalCluster, submission_id: str, entrypoint: list[str],
                     env_vars: dict[str, str]) -> str:
    """Submit with the Ray Jobs CLI, wait for a terminal status, and return the job's logs."""
    subprocess.run(
        [RAY, "job", "submit", "--address", cluster.dashboard_url, "--submission-id", submission_id,
         "--runtime-env-json", json.dumps({"env_vars": env_vars}), "--no-wait", "--", *entrypoint],
        env=cluster.env, check=True, capture_output=True, text=True, timeout=60)
    client = cluster.client()
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while (status := client.get_job_status(submission_id)) not in {JobStatus.SUCCEEDED, JobStatus.FAILED,
                                                                     JobStatus.STOPPED}:
        if time.monotonic() > deadline:
            pytest.fail(f"job {submission_id} still {status} after {JOB_TIMEOUT_S} s:\n"
                        f"{client.get_job_logs(submission_id)[-5000:]}")
        time.sleep(1)
    logs = client.get_job_logs(submission_id)
    assert status == JobStatus.SUCCEEDED, f"job {submission_id} {status}:\n{logs[-5000:]}"
    return logs


def test_the_dashboard_refuses_requests_without_the_token(two_node_cluster):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{two_node_cluster.dashboard_url}/api/jobs/", timeout=10)
    assert refused.value.code == 401
    assert len(two_node_cluster.node_ids()) == 2


def test_a_submitted_sweep_runs_trials_on_both_nodes(two_node_cluster, tmp_path):
    storage = tmp_path / "sweeps"
    # Two concurrent one-worker trials whose worker takes a whole two-CPU node: each node runs one. Random search and no baseline run: this test is
    # about where trials run, not how they are chosen; evaluation is off (eval_freq=0).
    sweep = [
        PYTHON, "-m", "orchestrator", "sweep", str(REPO / "search_spaces" / "act.py"),
        f"--tune.storage_path={storage}", "--tune.experiment_name=two_nodes", "--tune.num_samples=2",
        "--tune.max_concurrent_trials=2", "--tune.search=random", "--tune.baseline=false",
        "--tune.metric=train/loss", "--tune.mode=min",
        "--steps=100", "--log_freq=50", "--save_freq=100", "--eval_freq=0",  # long enough for the trials to overlap
        "--policy.dim_model=32", "--policy.dim_feedforward=64", "--policy.chunk_size=5",
        "--policy.n_action_steps=5", "--resources.cpus_per_worker=2", "--dataset.record_episodes=2",
    ]
    # Passed as the job's runtime env, as a user would. Both nodes run on this machine and share the
    # dataset cache, recorded fresh on first use.
    env_vars = {"ROBOT_SWEEPS_CACHE": str(tmp_path / "cache"), "WANDB_MODE": "offline",
                "WANDB_DIR": str(tmp_path / "wandb")}

    logs = _submit_and_wait(two_node_cluster, "sweep-two-nodes", sweep, env_vars)

    summary = json.loads((storage / "two_nodes" / "summary.json").read_text())
    trials = summary["trials"]
    assert len(trials) == 2, logs[-5000:]
    assert all(trial["status"] == "finished" for trial in trials), trials  # each trained all its steps
    assert {trial["last_metrics"]["node_id"] for trial in trials} == two_node_cluster.node_ids(), (
        "each node should have run one trial's Train worker")
