"""Starting or joining Ray: one place for the environment every Ray process gets and for how the driver connects."""

from __future__ import annotations

import logging
import os
import socket
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import ray

from orchestrator import terminal
from orchestrator.errors import UserError, problem
from orchestrator.experiment_layout import RAY_LOGS
from orchestrator.runtime.interrupts import ignoring_sigint, reclaim

# Environment variables passed from the driver to every Ray worker (when set here). Append to extend.
WORKER_ENV_VARS: list[str] = [
    "ROBOT_SWEEPS_CACHE",
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S",
    "WANDB_DIR",
    "WANDB_MODE",
    "HF_ENDPOINT",
    "RAY_API_SERVER_ADDRESS",
    "THP_MEM_ALLOC_ENABLE",  # opt-in huge pages, see benchmarks/README.md
    "ROBOT_SWEEPS_PACKAGES",  # the user's packages of policies/envs to import (orchestrator/plugins.py)
    "ROBOT_SWEEPS_PHASE_LOG",  # benchmarks: a trial's start-up/teardown marks (trainables/phase_log.py)
    "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER",  # see set_ray_env
    # s3:// storage (orchestrator/runtime/storage.py): where pyarrow's S3 client finds the bucket, in every process that
    # writes a trial or a checkpoint. The credentials themselves are not here: see CREDENTIALS.
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_EC2_METADATA_DISABLED",
]
# Never handed to workers through a runtime environment: Ray writes a runtime env's env_vars in plain text into its
# logs (runtime_env_agent.log), which <experiment>/logs/ray links to. A Ray this driver starts inherits them from
# the driver's environment (its raylet and workers are the driver's children); on a cluster, give the nodes their
# own credentials (an instance role, or the variables set where `ray start` runs), as Ray recommends.
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "HF_TOKEN", "WANDB_API_KEY")


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The runtime_env env_vars of this driver's Ray: WORKER_ENV_VARS that are set, plus `extra` (never one of
    CREDENTIALS)."""
    env = {**{k: os.environ[k] for k in WORKER_ENV_VARS if k in os.environ}, **(extra or {})}
    return {k: v for k, v in env.items() if k not in CREDENTIALS}


def set_ray_env() -> None:
    """Ray, Train and Tune settings of this process (before ray.init: those in WORKER_ENV_VARS reach the workers)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")  # reports wait on this poll (2 s by default)
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"  # eval metrics arrive asynchronously, not in every report
    os.environ.setdefault("RAY_OVERRIDE_JOB_RUNTIME_ENV", "1")  # under `ray job submit`: merge with the job's env
    # Train V2 starts a PreemptionWatcher actor (one more process) per worker group to wait out a node drain before
    # restarting workers; a sweep restarts a preempted trial from its last checkpoint through Tune anyway. Gain: one
    # of the ~6 processes Ray starts per trial; a side-by-side fit() of an empty loop could not resolve it on a
    # shared 2-core machine (medians 42.4 s on vs 42.9 s off at load 27-51, 3 each; benchmarks/README.md (b)).
    os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")


_session: dict[str, str] = {}  # what ray.init reported: "session_dir"


def local_resource_problems(resources, device: str | None = None) -> list:
    """What a Ray started on this machine (no RAY_ADDRESS) can never provide, so a trial would wait forever for it:
    a GPU torch cannot see, or more CPUs for one worker or evaluator than the machine has. A cluster (RAY_ADDRESS)
    may add nodes, so nothing is refused there. `device`: the policy.device that asked for the GPU, if one did."""
    if os.environ.get("RAY_ADDRESS"):
        return []
    out, cpus = [], os.cpu_count() or 1
    if resources.gpus_per_eval_actor > 0:
        import torch

        if torch.cuda.device_count() == 0:
            out.append(
                problem(
                    "resources.gpus_per_eval_actor",
                    "this machine has no GPU torch can use, and the local "
                    "Ray this command starts would wait forever for one: set it to 0 (evaluators on CPUs)",
                    resources.gpus_per_eval_actor,
                )
            )
    if resources.use_gpu:
        import torch

        gpus = torch.cuda.device_count()
        if gpus == 0:
            asked = (
                f" (policy.device = {device!r} asks for it: --policy.device=cpu trains on the CPU)"
                if device and str(device).startswith("cuda")
                else ""
            )
            out.append(
                problem(
                    "resources.use_gpu",
                    f"this machine has no GPU torch can use{asked}, and the local Ray "
                    "this command starts would wait forever for one: set it to false, or run on a Ray "
                    "cluster with GPU nodes (RAY_ADDRESS; README: Running on a Ray cluster)",
                    True,
                )
            )
        elif resources.gpus_per_worker > gpus:
            out.append(
                problem(
                    "resources.gpus_per_worker", f"is more than this machine's {gpus} GPUs", resources.gpus_per_worker
                )
            )
    for field in ("cpus_per_worker", "cpus_per_eval_actor"):
        if getattr(resources, field) > cpus:
            out.append(
                problem(
                    f"resources.{field}",
                    f"is more than this machine's {cpus} CPUs: the local Ray this command starts could never place it",
                    getattr(resources, field),
                )
            )
    return out


def trials_that_fit(need: dict[str, float]) -> int:
    """How many trials needing `need` (on one node each) the alive nodes hold at once."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    return sum(min(int(res.get(k, 0) // v) for k, v in need.items() if v) for res in nodes)


def wait_for_a_node(need: dict[str, float], timeout_s: float, poll_s: float = 5.0) -> int:
    """On a cluster no node of which fits a trial yet: ask Ray's autoscaler for one (request_resources) and wait
    for it, at most `timeout_s`; then give up with an error naming the fields instead of waiting forever."""
    from ray.autoscaler.sdk import request_resources

    print(
        f"warning: no node of this Ray cluster fits one trial ({need}); asked the autoscaler for one, waiting up "
        f"to {timeout_s:.0f} s (resources.placement_timeout_s)",
        flush=True,
    )
    request_resources(bundles=[need])
    deadline = time.monotonic() + timeout_s
    try:
        while (fits := trials_that_fit(need)) < 1:
            if time.monotonic() >= deadline:
                raise UserError(
                    problem(
                        "resources",
                        f"no node of the Ray cluster at RAY_ADDRESS fitted one trial "
                        f"({need}) within resources.placement_timeout_s = {timeout_s:.0f} s: lower "
                        "resources.* or eval.num_actors, or add nodes that large",
                    ),
                    "the sweep cannot run",
                )
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
    finally:
        request_resources(bundles=[])  # from here on, the trials' own requests keep the nodes
    return fits


def connect_ray(extra_env: dict[str, str] | None = None) -> None:
    """Join the cluster named by RAY_ADDRESS (as under `ray job submit`; RAY_ADDRESS=auto joins one started with
    `ray start` on this machine), else start a fresh local Ray for this sweep. `extra_env` reaches every worker.
    The workers' output reaches this terminal only with --verbose (orchestrator/terminal.py); it stays in Ray's log
    files (see link_ray_logs)."""
    set_ray_env()
    if ray.is_initialized():
        return
    if not terminal.verbose():  # Ray's notice that token authentication is on (as Ray 2.60 has it by default)
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    local = not os.environ.get("RAY_ADDRESS")
    if local:
        start_at_normal_priority()
    preferred = 8265
    for attempt in range(3):
        options: dict[str, Any] = {}
        if local:
            # Ray Train's placement-group cleaner finds "its" cluster through the state API; with another Ray running
            # on the machine it cannot tell which one and leaks placement groups. Name our dashboard explicitly.
            port = free_port(preferred)
            os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{port}"
            options = {"include_dashboard": True, "dashboard_host": "127.0.0.1", "dashboard_port": port}
        try:
            with ignoring_sigint() if local else nullcontext():  # Ctrl-C is the driver's to handle (interrupts.py)
                context = ray.init(
                    address=os.environ.get("RAY_ADDRESS") or "local",
                    runtime_env={"env_vars": worker_env(extra_env)},
                    configure_logging=False,
                    log_to_driver=terminal.verbose(),
                    **options,
                )
            break
        except Exception as e:
            # Another Ray starting on this machine took the free port between our check and the dashboard's bind.
            if not local or "valid port for dashboard" not in str(e) or attempt == 2:
                raise
            ray.shutdown()
            preferred = 0
    reclaim()  # SIGTERM is ours again (ray.init installs Ray's), see interrupts.py
    _session["session_dir"] = (getattr(context, "address_info", None) or {}).get("session_dir", "")
    if local:
        print(f"Ray dashboard: http://127.0.0.1:{port}", flush=True)


def link_ray_logs(folder: Path) -> Path | None:
    """`folder`/logs/ray -> the logs of this machine's Ray session (workers' stdout/stderr, Ray Train's logs): where
    Ray's internal lines went unless --verbose. None when Ray was not started here or `folder` is not local."""
    logs = Path(_session.get("session_dir") or "") / "logs"
    if not _session.get("session_dir") or not logs.is_dir() or "://" in str(folder):
        return None
    link = Path(folder) / RAY_LOGS
    try:
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        if not link.exists():
            link.symlink_to(logs, target_is_directory=True)
    except OSError:
        return None
    return link


def start_at_normal_priority() -> None:
    """Ray's processes inherit this process's scheduling policy. Under a real-time one (SVT-AV1, run as root, leaves
    SCHED_FIFO 99 on the thread that encoded video) their busy threads starve a small machine: go back to normal."""
    if hasattr(os, "sched_getscheduler") and os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        print("note: this process had real-time scheduling; Ray starts at normal priority", flush=True)


def free_port(preferred: int) -> int:
    """`preferred` if nothing listens there, else any free port on loopback."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
            except OSError:
                continue
    raise OSError("no free port on 127.0.0.1")
