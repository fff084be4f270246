"""A sweep submitted with `ray job submit` to a two-node Ray cluster runs its trials on both nodes, and while it runs
the Ray dashboard shows it: the job, the actors the project names (each trial's evaluators, the sweep's incumbent),
each trial's Ray Train run and its workers, how busy the cluster is. The pages are loaded in headless Chromium with
the cluster's token, as a user would (the dashboard's token dialog), and the REST and CLI calls of the README's
"Inspect a sweep" section are made against the same running sweep.

The cluster is what `ray up cluster.yaml` builds, shrunk onto this machine: a head started with
`ray start --head` and a second node joining it with `ray start --address`, two logical CPUs each. Token
authentication stays on, as Ray 2.60 has it by default: the test writes a fresh token to a file of its own
and points every Ray process and CLI call at it (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN_PATH), so it needs
no ~/.ray/auth_token, works with a fresh HOME (CI), and never touches the user's token.

Teardown kills only the processes this test started (each `ray start --block` and everything below it:
GCS, raylet, dashboard, workers, the job's driver). `ray stop` would kill every Ray on the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
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

import psutil  # Ray ships psutil (ray/thirdparty_files) and puts it on sys.path when imported
import pytest
from ray.job_submission import JobStatus, JobSubmissionClient

from tests.support.chromium import Tab, browse, chromium_path

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
RAY = str(Path(PYTHON).with_name("ray"))
# Two logical CPUs per node; each trial's Train worker asks for two, so the two trials land on different nodes.
NODE_CPUS = 2
NODE_MEMORY = 4 * 1024**3
NODE_OBJECT_STORE = 256 * 1024**2
NODE_START_TIMEOUT_S = 60
JOB_TIMEOUT_S = 480
SUBMISSION_ID = "sweep-two-nodes"
# Requests the dashboard's own script makes to learn which optional features this Ray has, and handles (no error
# shown): no Grafana (500), no Prometheus (500), platform events not enabled (404), Ray Serve not installed (501, the
# Overview page's Serve card). Chromium's network log still reports each as "Failed to load resource"; any other
# console message fails the test.
DASHBOARD_FEATURE_PROBES = {
    ("/api/grafana_health", 500),
    ("/api/prometheus_health", 500),
    ("/api/v0/platform_events", 404),
    ("/api/serve/applications/", 501),
}


def _feature_probe(line: str) -> bool:
    """A console line of one of DASHBOARD_FEATURE_PROBES' answers."""
    return any(
        f"status of {status} " in line and line.rstrip().endswith(path) for path, status in DASHBOARD_FEATURE_PROBES
    )


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

    gcs_address: str = ""

    def get(self, path: str):
        """GET a dashboard REST path with the token header, as the README's curl lines do; the JSON reply."""
        request = urllib.request.Request(f"{self.dashboard_url}{path}", headers=self.authorization())
        with urllib.request.urlopen(request, timeout=20) as reply:
            return json.load(reply)

    def node_ids(self) -> set[str]:
        """Ids of the alive nodes, from the dashboard's state API (the one `ray list nodes` calls)."""
        nodes = self.get("/api/v0/nodes")["data"]["result"]["result"]
        return {node["node_id"] for node in nodes if node["state"] == "ALIVE"}

    def actors(self, class_name: str) -> list[dict]:
        """The actors of a class, dead ones included, from the state API (what `ray list actors` calls)."""
        path = f"/api/v0/actors?filter_keys=class_name&filter_predicates=%3D&filter_values={class_name}&limit=1000"
        return self.get(path)["data"]["result"]["result"]

    def ray(self, *args: str) -> str:
        """A `ray ...` CLI call with the cluster's token settings; its stdout."""
        done = subprocess.run([RAY, *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"ray {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


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
        process = subprocess.Popen(
            [RAY, "start", "--block", *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
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
    # Nothing here may name the session's shared cluster (tests/conftest.py: ray_cluster), up when an earlier test
    # used it: its RAY_API_SERVER_ADDRESS wins over --address in `ray job`/`ray list` and in JobSubmissionClient.
    with pytest.MonkeyPatch.context() as env_of_this_module:
        env_of_this_module.delenv("RAY_API_SERVER_ADDRESS", raising=False)
        yield from _two_node_cluster(tmp_path_factory)


def _two_node_cluster(tmp_path_factory):
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
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={NODE_CPUS}",
        f"--memory={NODE_MEMORY}",
        f"--object-store-memory={NODE_OBJECT_STORE}",
        f"--temp-dir={temp_dir}",
        "--min-worker-port=0",
        "--max-worker-port=0",  # workers bind OS-chosen ports: no clash with other Rays
    ]
    started: list[subprocess.Popen] = []
    try:
        started.append(
            _start_node(
                [
                    "--head",
                    f"--port={gcs_port}",
                    f"--dashboard-port={dashboard_port}",
                    f"--ray-client-server-port={client_port}",
                    f"--dashboard-agent-listen-port={head_agent_port}",
                    *common,
                ],
                env,
                tmp_path / "head.log",
            )
        )
        started.append(
            _start_node(
                [f"--address=127.0.0.1:{gcs_port}", f"--dashboard-agent-listen-port={node_agent_port}", *common],
                env,
                tmp_path / "node.log",
            )
        )
        yield LocalCluster(f"http://127.0.0.1:{dashboard_port}", token, env, f"127.0.0.1:{gcs_port}")
    finally:
        for process in reversed(started):
            _kill_tree(process)
        shutil.rmtree(temp_dir, ignore_errors=True)


@dataclass
class SeenWhileRunning:
    """What the dashboard, its REST API and the CLI showed while the sweep's job was running."""

    job: dict  # /api/jobs/<submission id>
    evaluators: list[dict]  # state API rows of the EvalActor class
    incumbents: list[dict]  # ... of the Incumbent class
    train_runs: list[dict]  # /api/train/v2/runs/v1
    workers: list[dict]  # state API rows of the RayTrainWorker class
    cluster_status: str  # /api/cluster_status?format=1: `ray status`'s text
    cli_actors: str  # `ray list actors --filter class_name=EvalActor`
    cli_status: str  # `ray status`
    pages: dict[str, str]  # page -> the text it rendered
    console_before_login: list[str]
    console: list[str]  # after logging in
    screenshots: dict[str, bytes]
    browser_s: float  # how long the pages took, the login included


@dataclass
class SubmittedSweep:
    storage: Path
    logs: str  # `ray job logs`
    summary: dict
    seen: SeenWhileRunning
    evaluators_after: list[dict]  # state API rows of the EvalActor class once the job ended


def _submit(cluster: LocalCluster, submission_id: str, entrypoint: list[str], env_vars: dict[str, str]) -> None:
    """Submit with the Ray Jobs CLI (without waiting)."""
    cluster.ray(
        "job",
        "submit",
        "--address",
        cluster.dashboard_url,
        "--submission-id",
        submission_id,
        "--runtime-env-json",
        json.dumps({"env_vars": env_vars}),
        "--no-wait",
        "--",
        *entrypoint,
    )


def _wait_for_end(cluster: LocalCluster, submission_id: str, deadline: float) -> str:
    """Wait for a terminal status; the job's logs (`ray job logs`)."""
    client = cluster.client()
    while (status := client.get_job_status(submission_id)) not in {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.STOPPED,
    }:
        if time.monotonic() > deadline:
            pytest.fail(
                f"job {submission_id} still {status} after {JOB_TIMEOUT_S} s:\n"
                f"{client.get_job_logs(submission_id)[-5000:]}"
            )
        time.sleep(1)
    logs = cluster.ray("job", "logs", "--address", cluster.dashboard_url, submission_id)
    assert status == JobStatus.SUCCEEDED, f"job {submission_id} {status}:\n{logs[-5000:]}"
    return logs


def _watch(cluster: LocalCluster, submission_id: str, deadline: float) -> SeenWhileRunning:
    """Once a trial trains (its Train run has a worker, its evaluator is alive), look at the sweep every way the
    README's "Inspect a sweep" shows: the dashboard's pages in Chromium, its REST API and the CLI."""
    client = cluster.client()
    while not (
        _training(cluster)
        and any(a["state"] == "ALIVE" and a["name"].startswith("trial_") for a in cluster.actors("EvalActor"))
    ):
        if (
            client.get_job_status(submission_id) not in {JobStatus.PENDING, JobStatus.RUNNING}
            or time.monotonic() > deadline
        ):
            pytest.fail(
                f"no trial was seen training with its evaluator; job {client.get_job_status(submission_id)}:"
                f"\n{client.get_job_logs(submission_id)[-5000:]}"
            )
        time.sleep(1)
    job = cluster.get(f"/api/jobs/{submission_id}")
    evaluators, incumbents = cluster.actors("EvalActor"), cluster.actors("Incumbent")
    train_runs = _training(cluster)
    workers = cluster.actors("RayTrainWorker")
    cluster_status = cluster.get("/api/cluster_status?format=1")["data"]["clusterStatus"]
    cli_actors = cluster.ray("list", "actors", "--address", cluster.dashboard_url, "--filter", "class_name=EvalActor")
    cli_status = cluster.ray("status", "--address", cluster.gcs_address)
    start = time.monotonic()
    pages, screenshots, console = browse(lambda tab: _dashboard_pages(tab, cluster, submission_id), timeout=120)
    return SeenWhileRunning(
        job,
        evaluators,
        incumbents,
        train_runs,
        workers,
        cluster_status,
        cli_actors,
        cli_status,
        pages,
        console[0],
        console[1],
        screenshots,
        time.monotonic() - start,
    )


def _training(cluster: LocalCluster) -> list[dict]:
    """The Train runs of the dashboard's Train API once one has a worker group; [] before (the API answers 500
    until the first run's controller has started its state actor)."""
    try:
        runs = cluster.get("/api/train/v2/runs/v1")["train_runs"]
    except urllib.error.HTTPError:
        return []
    return runs if any(run["attempts"] and run["attempts"][-1]["workers"] for run in runs) else []


async def _dashboard_pages(tab: Tab, cluster: LocalCluster, submission_id: str):
    """Log in as a user does (the dashboard asks for the token in a dialog, then reloads itself), then open the
    Jobs, Actors (filtered by name, as its Name field does) and Overview pages and wait until each shows what the
    README says it shows."""
    url = cluster.dashboard_url
    await tab.goto(f"{url}/#/jobs")
    await tab.wait_for("!!document.querySelector('#token-auth-dialog-title')", 30, "the token dialog")
    await tab.type_into("div[role=dialog] input", cluster.token)
    submit = "[...document.querySelectorAll('div[role=dialog] button')].find(b => b.textContent.includes('Submit'))"
    await tab.wait_for(f"!{submit}.disabled", 10, "an enabled Submit button")
    tab.expect_load()
    await tab.evaluate(f"{submit}.click()")
    await tab.wait_for_load()  # the dashboard reloads itself with the cookie /api/authenticate set
    before_login = list(tab.console)
    tab.console.clear()
    pages, screenshots = {}, {}

    async def show(name: str, condition: str, what: str):
        await tab.wait_for(condition, 45, what)
        await asyncio.sleep(1)  # the page's other requests
        pages[name], screenshots[name] = await tab.text(), await tab.screenshot()

    await show(
        "jobs",
        f"[...document.querySelectorAll('tr')].some(r => r.innerText.includes('{submission_id}') "
        "&& r.innerText.includes('RUNNING'))",
        f"{submission_id} RUNNING in the job list",
    )
    await tab.goto(f"{url}/#/actors")
    await _filter_actors(tab, "evaluator")
    await show(
        "actors: evaluator",
        _only_names(r"trial_[0-9a-f]+(_[0-9]+)?\/evaluator-[0-9]+"),  # (Tune's ids: 8 hex, + _N from its generator)
        "the trials' evaluators, and only them, in the actor list",
    )
    await _filter_actors(tab, "incumbent")
    await show("actors: incumbent", _only_names("robot-sweeps-incumbent:"), "the sweep's incumbent in the actor list")
    await tab.goto(f"{url}/#/overview")
    await show("overview", "/[0-9.]+\\/4\\.0 CPU/.test(document.body.innerText)", "the cluster's CPU usage")
    return pages, screenshots, (before_login, list(tab.console))


# The Actors page's Name field (an MUI TextField: a label, then a div holding the input).
NAME_INPUT = (
    "document.evaluate(\"//label[text()='Name']/following-sibling::div/input\", document, null, "
    "XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue"
)


async def _filter_actors(tab: Tab, text: str) -> None:
    """Type `text` into the Actors page's Name field, replacing what is there, as a user does. Typed while the page
    is still mounting, the text can be lost: type again until the field holds it."""
    for attempt in range(5):
        await tab.wait_for(f"!!{NAME_INPUT}", 30, "the Actors page's Name field")
        await tab.evaluate(f"{NAME_INPUT}.focus(), {NAME_INPUT}.select()")
        await tab.send("Input.insertText", text=text)
        try:
            await tab.wait_for(f"{NAME_INPUT}.value === {json.dumps(text)}", 3, f"{text!r} in the Name field")
            return
        except TimeoutError:
            if attempt == 4:
                raise


def _only_names(pattern: str) -> str:
    """A JavaScript condition: the actor list's count (its "TOTAL x N" chip) equals the number of names matching
    `pattern` on the page, and is not 0: the Name filter has applied and every actor it lists is one of those."""
    return (
        f"(() => {{ const text = document.body.innerText, total = text.match(/TOTAL\\s*x\\s*(\\d+)/); "
        f"const names = text.match(/{pattern}/g) || []; "
        "return !!total && +total[1] === names.length && names.length > 0; })()"
    )


@pytest.fixture(scope="module")
def submitted_sweep(two_node_cluster, tmp_path_factory) -> SubmittedSweep:
    chromium_path()  # now, not mid-sweep: scripts/test.sh may still be installing it; the pages are read as it runs
    tmp_path = tmp_path_factory.mktemp("sweep")
    storage = tmp_path / "sweeps"
    # Two concurrent one-worker trials whose worker takes a whole two-CPU node: each node runs one. Random search and
    # no baseline run: this run is about where trials run and what the dashboard shows, not how they are chosen. One
    # small evaluation at the end (its actor takes no CPU of its own, so a trial still fits a node) and a one-candidate
    # confirmation make the evaluators and the incumbent the dashboard should name.
    sweep = [
        PYTHON,
        "-m",
        "orchestrator",
        "sweep",
        str(REPO / "search_spaces" / "act.py"),
        f"--tune.storage_path={storage}",
        "--tune.experiment_name=two_nodes",
        "--tune.num_samples=2",
        "--tune.max_concurrent_trials=2",
        "--tune.search=random",
        "--tune.baseline=false",
        "--tune.metric=eval/avg_max_reward",
        "--tune.mode=max",
        "--tune.confirm_top_k=1",
        "--tune.confirm_episodes=2",
        "--steps=100",
        "--log_freq=50",
        "--save_freq=100",
        "--eval_freq=100",  # long enough for the trials to overlap
        "--eval.n_episodes=4",
        "--eval.batch_size=2",
        "--eval.stage_episodes=2",
        "--resources.cpus_per_eval_actor=0",
        "--policy.dim_model=32",
        "--policy.dim_feedforward=64",
        "--policy.chunk_size=5",
        "--policy.n_action_steps=5",
        "--resources.cpus_per_worker=2",
        "--dataset.record_episodes=2",
    ]
    # Passed as the job's runtime env, as a user would. Both nodes run on this machine and share the
    # dataset cache, recorded fresh on first use. RAY_TRAIN_ENABLE_STATE_TRACKING: the dashboard's Train API.
    env_vars = {
        "ROBOT_SWEEPS_CACHE": str(tmp_path / "cache"),
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tmp_path / "wandb"),
        "RAY_TRAIN_ENABLE_STATE_TRACKING": "1",
    }
    deadline = time.monotonic() + JOB_TIMEOUT_S
    _submit(two_node_cluster, SUBMISSION_ID, sweep, env_vars)
    try:
        seen = _watch(two_node_cluster, SUBMISSION_ID, deadline)
    except BaseException:
        subprocess.run(
            [RAY, "job", "stop", "--address", two_node_cluster.dashboard_url, SUBMISSION_ID],
            env=two_node_cluster.env,
            capture_output=True,
            timeout=60,
        )
        raise
    logs = _wait_for_end(two_node_cluster, SUBMISSION_ID, deadline)
    summary = json.loads((storage / "two_nodes" / "summary.json").read_text())
    for name, png in seen.screenshots.items():  # to look at when a check fails
        (tmp_path / f"dashboard-{name.replace(': ', '-')}.png").write_bytes(png)
    (tmp_path / "dashboard-console.txt").write_text(
        "\n".join(["before login:", *seen.console_before_login, "after login:", *seen.console])
    )
    return SubmittedSweep(storage, logs, summary, seen, two_node_cluster.actors("EvalActor"))


def test_the_dashboard_refuses_requests_without_the_token(two_node_cluster):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{two_node_cluster.dashboard_url}/api/jobs/", timeout=10)
    assert refused.value.code == 401
    assert len(two_node_cluster.node_ids()) == 2


def test_ray_get_auth_token_prints_the_token_the_dashboard_accepts(two_node_cluster):
    assert two_node_cluster.ray("get-auth-token").strip() == two_node_cluster.token


def test_a_submitted_sweep_runs_trials_on_both_nodes(two_node_cluster, submitted_sweep):
    trials = submitted_sweep.summary["trials"]
    assert len(trials) == 2, submitted_sweep.logs[-5000:]
    assert all(trial["status"] == "finished" for trial in trials), trials  # each trained all its steps
    assert {trial["last_metrics"]["node_id"] for trial in trials} == two_node_cluster.node_ids(), (
        "each node should have run one trial's Train worker"
    )
    for trial in trials:  # `ray job logs` has the sweep's own log lines
        assert f"{trial['trial_id']} finished at step 100" in submitted_sweep.logs, submitted_sweep.logs[-5000:]


def test_the_rest_api_and_cli_name_the_sweeps_actors(submitted_sweep):
    seen, trial_ids = submitted_sweep.seen, {t["trial_id"] for t in submitted_sweep.summary["trials"]}
    assert seen.job["status"] == "RUNNING" and seen.job["submission_id"] == SUBMISSION_ID
    assert seen.job["entrypoint"].split()[1:4] == ["-m", "orchestrator", "sweep"]
    # Each trial's evaluator is named for the trial (trial_<id>/evaluator-0), the confirmation's for it, and every
    # one belongs to the sweep's job: the actor list ties them to the job and the trial.
    names = {a["name"] for a in submitted_sweep.evaluators_after}
    assert {f"trial_{t}/evaluator-0" for t in trial_ids} | {"confirm/evaluator-0"} <= names, names
    assert {a["job_id"] for a in submitted_sweep.evaluators_after} == {seen.job["job_id"]}
    alive = [a["name"] for a in seen.evaluators if a["state"] == "ALIVE"]
    assert alive and all(name.split("/")[0][len("trial_") :] in trial_ids for name in alive), seen.evaluators
    # The sweep's incumbent, named for its experiment's trials folder.
    experiment = submitted_sweep.storage / "two_nodes"
    assert [(a["name"], a["state"]) for a in seen.incumbents] == [
        (f"robot-sweeps-incumbent:{experiment / 'trials'}", "ALIVE")
    ]
    # Ray Train names its own workers; its Train API names each trial's run trial_<id> and lists the run's workers
    # with their actor ids, nodes, pids and log files.
    runs = {run["name"]: run for run in seen.train_runs}
    assert set(runs) <= {f"trial_{t}" for t in trial_ids} and runs, runs.keys()
    worker_ids = {a["actor_id"] for a in seen.workers}
    started = [run["attempts"][-1]["workers"] for run in runs.values() if run["attempts"]]
    for workers in filter(None, started):  # a run's worker group may not be up yet
        assert len(workers) == 1 and workers[0]["actor_id"] in worker_ids, workers
        assert workers[0]["node_id"] and workers[0]["pid"] and workers[0]["log_file_path"], workers[0]
    # The CLI: the same names; how busy the cluster is.
    assert all(name in seen.cli_actors for name in alive), seen.cli_actors
    assert "/4.0 CPU" in seen.cli_status and "/4.0 CPU" in seen.cluster_status, seen.cli_status


def test_the_dashboard_pages_show_the_job_and_the_named_actors(submitted_sweep):
    seen = submitted_sweep.seen
    # Before the token is given, every data request is refused (401) and the dashboard asks for it: expected. The
    # page the login reloads may have its first probes answered before its load event, which ends "before login"
    # (on a loaded machine): those are the feature probes below, as after the login. (dashboard-console.txt beside
    # the screenshots holds every line.)
    before = seen.console_before_login
    assert any("401 (Unauthorized)" in line for line in before), before
    odd = [
        line
        for line in before
        if "401 (Unauthorized)" not in line and not line.startswith("log.verbose") and not _feature_probe(line)
    ]
    assert odd == [], odd
    unexplained = [line for line in seen.console if not _feature_probe(line)]
    assert unexplained == [], unexplained
    assert SUBMISSION_ID in seen.pages["jobs"] and "RUNNING" in seen.pages["jobs"]
    trial_ids = {t["trial_id"] for t in submitted_sweep.summary["trials"]}
    shown = set(re.findall(r"trial_([0-9a-f]+(?:_[0-9]+)?)/evaluator-0", seen.pages["actors: evaluator"]))
    assert shown and shown <= trial_ids, seen.pages["actors: evaluator"]
    assert "EvalActor" in seen.pages["actors: evaluator"]
    experiment = submitted_sweep.storage / "two_nodes"
    assert f"robot-sweeps-incumbent:{experiment / 'trials'}" in seen.pages["actors: incumbent"]
    assert "Cluster status" in seen.pages["overview"], seen.pages["overview"]
