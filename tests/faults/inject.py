"""Fault injection for the faults tier: find a run's processes (Ray's state API, psutil) and SIGKILL them by pid;
read what Ray Train registered; check that a checkpoint is complete and loads."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

# A checkpoint's files (trainables/checkpointing.py): every one must be there in a registered checkpoint.
CHECKPOINT_FILES = (
    "pretrained_model/config.json",
    "pretrained_model/model.safetensors",
    "pretrained_model/train_config.json",
    "training_state/optimizer_state.pt",
    "training_state/scheduler_state.json",
    "training_state/rng_state.pt",
    "training_state/training_step.json",
)


def alive_actors(class_name: str, besides: set[str] = frozenset()) -> list:
    """Ray's live actors of `class_name` (ActorState: pid, node_id, ...), those whose actor_id is in `besides` left out
    (e.g. another test's, still being torn down)."""
    from ray.util.state import list_actors

    actors = list_actors(filters=[("class_name", "=", class_name), ("state", "=", "ALIVE")])
    return [a for a in actors if a.actor_id not in besides]


def actor_ids(class_name: str) -> set[str]:
    return {a.actor_id for a in alive_actors(class_name)}


def ray_pids(class_name: str, cluster) -> set[int]:
    """Pids of the Ray workers of `cluster` (a ray.cluster_utils.Cluster: the raylets of its nodes started them) that
    hold an actor of `class_name`, read from their process titles (`ray::ImplicitFunc`, `ray::ImplicitFunc.train`
    while a method runs): milliseconds, where Ray's state API can take seconds under load. Another Ray on the machine
    (a CLI test's own, beside this one) is left out."""
    import psutil

    raylets = {
        process.process.pid
        for node in [cluster.head_node, *cluster.worker_nodes]
        for process in node.all_processes.get("raylet", [])
    }
    pids = set()
    for p in psutil.process_iter(["cmdline", "ppid"]):
        title = " ".join(p.info["cmdline"] or []).strip()
        if p.info["ppid"] in raylets and (title == f"ray::{class_name}" or title.startswith(f"ray::{class_name}.")):
            pids.add(p.pid)
    return pids


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def wait_for(condition: Callable[[], object], timeout: float = 180, every: float = 0.1, what: str = "condition"):
    """Poll `condition` until it returns something truthy, and return that. AssertionError after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def registered(run_dir: Path) -> list[dict]:
    """The checkpoints Ray Train registered for a run (its checkpoint manager's snapshot in storage), oldest first:
    [{"dir": checkpoint folder name, **the metrics reported with it}]. [] while there is none (or mid-write)."""
    try:
        snapshot = json.loads((Path(run_dir) / "checkpoint_manager_snapshot.json").read_text())
    except (OSError, ValueError):
        return []
    return [{"dir": r["checkpoint_dir_name"], **r["metrics"]} for r in snapshot["checkpoint_results"]]


def registered_step(train_dir: Path, at_least: int) -> tuple[Path, int] | None:
    """(run folder, step) of the first run under `train_dir` with a registered checkpoint at >= `at_least`."""
    for run in sorted(Path(train_dir).glob("*")):
        steps = [r["step"] for r in registered(run)]
        if steps and max(steps) >= at_least:
            return run, max(steps)
    return None


def attempts(entries: list[dict]) -> tuple[list[dict], list[dict]]:
    """Registered checkpoints of the first attempt (start_step 0) and of the resumed one(s)."""
    return [e for e in entries if e["start_step"] == 0], [e for e in entries if e["start_step"] != 0]


def resumed_where_it_stopped(run: Path, steps: int) -> int:
    """The run's registered checkpoints: a first attempt, then one resumed from the first attempt's last checkpoint
    (not step 0) up to `steps`. Returns that step."""
    first, resumed = attempts(registered(run))
    kept = max(e["step"] for e in first)
    assert kept >= 20 and resumed and {e["start_step"] for e in resumed} == {kept}
    assert [e["step"] for e in resumed] == list(range(kept + 10, steps + 1, 10))
    return kept


def assert_complete_and_loadable(checkpoint: Path) -> int:
    """Every file of the checkpoint is there and loads (weights, optimizer, scheduler, RNG): returns its step."""
    from orchestrator.configs.parsing import build_config
    from orchestrator.policies.factory import load_policy
    from trainables.checkpointing import load_training_state

    missing = [name for name in CHECKPOINT_FILES if not (checkpoint / name).is_file()]
    assert not missing, f"{checkpoint} lacks {missing}"
    cfg = build_config(json.loads((checkpoint / "pretrained_model/train_config.json").read_text()), [])
    policy = load_policy(checkpoint / "pretrained_model")
    optimizer = cfg.optimizer.build(policy.optim_param_groups())
    return load_training_state(checkpoint, policy, optimizer, cfg.scheduler.build(optimizer, cfg.steps))


def loop_with_upload_stalled_half_way(loop_config: dict, at_step: int, marker: str) -> None:
    """The Train loop, with Ray's copy of the checkpoint of `at_step` to storage stopped half-way (once: while
    `marker` does not exist): pretrained_model/ is copied, training_state/ is not; the worker's pid goes into
    `marker` and the worker sleeps there, to be killed. Runs in the Train worker (pickled by value)."""
    import ray.train.v2._internal.execution.storage as storage

    from trainables.train_loop import train_loop_per_worker

    copy = storage._pyarrow_fs_copy_files

    def half_then_stall(source, destination, **kwargs):
        step_file = Path(str(source)) / "training_state" / "training_step.json"
        if not Path(marker).exists() and step_file.is_file() and json.loads(step_file.read_text())["step"] == at_step:
            kwargs["destination_filesystem"].create_dir(f"{destination}/pretrained_model")
            copy(f"{source}/pretrained_model", f"{destination}/pretrained_model", **kwargs)
            Path(f"{marker}.tmp").write_text(str(os.getpid()))
            os.replace(f"{marker}.tmp", marker)
            time.sleep(600)
        return copy(source, destination, **kwargs)

    storage._pyarrow_fs_copy_files = half_then_stall
    train_loop_per_worker(loop_config)


def tune_statuses(experiment_dir: Path) -> dict[str, str]:
    """trial id -> status in Tune's newest saved experiment state ({} before the first save or mid-write)."""
    states = sorted((Path(experiment_dir) / "trials").glob("experiment_state-*.json"), key=lambda p: p.stat().st_mtime)
    try:
        data = json.loads(states[-1].read_text()) if states else {}
        return {t["trial_id"]: t["status"] for t in (json.loads(entry[0]) for entry in data.get("trial_data", []))}
    except (OSError, ValueError, KeyError, IndexError):
        return {}


def descendants(pid: int) -> list:
    """The processes `pid` started, recursively (psutil.Process objects)."""
    import psutil

    return psutil.Process(pid).children(recursive=True)


def named(processes: list) -> list[tuple]:
    """(process, name) of those still there."""
    import psutil

    out = []
    for p in processes:
        try:
            out.append((p, p.name()))
        except psutil.NoSuchProcess:
            pass
    return out


def survivors(processes: list, timeout: float) -> list[str]:
    """Of `processes`, those still running after `timeout` seconds (as 'pid name'); zombies count as gone."""
    import psutil

    deadline = time.time() + timeout
    while True:
        alive = []
        for p in processes:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{p.pid} {p.name()}")
            except psutil.NoSuchProcess:
                pass
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.5)
