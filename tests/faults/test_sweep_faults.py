"""Faults in a sweep, injected by pid: the trial's driver (Tune's trial actor), a whole simulated node, and the sweep
driver itself (then --tune.resume=true). Each test asserts what was kept and at which step training continued."""
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from orchestrator import sweep as sweep_mod
from tests.conftest import TINY_ACT
from tests.faults.inject import (actor_ids, alive_actors, attempts, descendants, kill, named, registered,
                                 registered_step, survivors, tune_statuses, wait_for)

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
ACT = str(ROOT / "search_spaces" / "act.py")
# One tiny ACT per trial, a checkpoint every 10 steps, no evaluation: faults, not search, are under test.
SWEEP = ["--tune.search=random", "--tune.metric=train/loss", "--tune.mode=min", "--tune.scheduler=none",
         "--tune.baseline=false", "--tune.confirm_top_k=0", "--tune.max_failures=1", *TINY_ACT, "--batch_size=16",
         "--log_freq=10", "--save_freq=10", "--eval_freq=0", "--dataset.record_episodes=3"]


def _in_background(fn) -> tuple[threading.Thread, list]:
    """Run `fn` in a thread; what it returns lands in the list (empty if it raised or timed out)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def _resumed_where_it_stopped(run: Path, steps: int) -> int:
    """The run's registered checkpoints: a first attempt, then one resumed from the first attempt's last checkpoint
    (not step 0) up to `steps`. Returns that step."""
    first, resumed = attempts(registered(run))
    kept = max(e["step"] for e in first)
    assert kept >= 20 and resumed and {e["start_step"] for e in resumed} == {kept}
    assert [e["step"] for e in resumed] == list(range(kept + 10, steps + 1, 10))
    return kept


def test_killed_trial_driver_is_retried_by_tune_from_its_last_checkpoint(tmp_path, tiny_dataset, ray_cluster):
    prepared = sweep_mod.prepare(ACT, [*SWEEP, "--steps=80", "--tune.num_samples=1", f"--tune.storage_path={tmp_path}",
                                       "--tune.experiment_name=driver"])
    train, earlier = tmp_path / "driver" / "train", actor_ids("ImplicitFunc")

    def kill_the_trial_driver() -> int:
        wait_for(lambda: registered_step(train, 20), what="a registered checkpoint at step >= 20")
        driver = alive_actors("ImplicitFunc", besides=earlier)[0]  # Tune's actor running run_trial (owns the trainer)
        kill(driver.pid)
        return driver.pid

    killer, killed = _in_background(kill_the_trial_driver)
    results, _ = sweep_mod.run(prepared)
    killer.join(timeout=5)
    assert killed and results.num_errors == 0
    result = results[0]
    kept = _resumed_where_it_stopped(next(train.glob("trial_*")), 80)
    assert result.metrics["step"] == 80 and result.metrics["start_step"] == kept


def test_lost_node_trial_is_retried_on_another_node_from_its_last_checkpoint(tmp_path, tiny_dataset, ray_cluster):
    """A node added here for the test runs the trial's Train worker (the shared nodes' CPUs are held meanwhile);
    the whole node is killed mid-run (its raylet and every process on it); Tune retries the trial on a shared node."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote
    class Holder:
        def ready(self) -> bool:
            return True

    shared = [n for n in ray.nodes() if n["Alive"]]
    holders = [Holder.options(num_cpus=n["Resources"]["CPU"], scheduling_strategy=NodeAffinitySchedulingStrategy(
        n["NodeID"], soft=False)).remote() for n in shared]
    ray.get([h.ready.remote() for h in holders])
    node = ray_cluster.add_node(num_cpus=2, memory=3 * 2**30, object_store_memory=300 * 2**20)
    try:
        ray_cluster.wait_for_nodes()
        prepared = sweep_mod.prepare(ACT, [*SWEEP, "--steps=80", "--tune.num_samples=1",
                                           f"--tune.storage_path={tmp_path}", "--tune.experiment_name=node"])
        train = tmp_path / "node" / "train"

        def kill_the_node() -> str:
            wait_for(lambda: registered_step(train, 20), what="a registered checkpoint at step >= 20")
            ray_cluster.remove_node(node, allow_graceful=False)  # SIGKILL to every process of the node
            for h in holders:  # the shared nodes take the retry
                ray.kill(h)
            return node.node_id

        killer, killed = _in_background(kill_the_node)
        results, _ = sweep_mod.run(prepared)
        killer.join(timeout=5)
    finally:
        for h in holders:
            ray.kill(h)
        if node in ray_cluster.worker_nodes:
            ray_cluster.remove_node(node, allow_graceful=False)
    assert killed and results.num_errors == 0
    run = next(train.glob("trial_*"))
    kept = _resumed_where_it_stopped(run, 80)
    first, resumed = attempts(registered(run))
    assert {e["node_id"] for e in first} == {killed[0]}  # trained on the node that was lost
    assert killed[0] not in {e["node_id"] for e in resumed}  # then elsewhere
    assert results[0].metrics["start_step"] == kept and results[0].metrics["step"] == 80


def _cli(args: list[str], log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
    with open(log, "w") as out:  # a local Ray of its own, as a user's sweep starts it
        return subprocess.Popen([sys.executable, "-m", "orchestrator", "sweep", ACT, *args], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def test_killed_sweep_driver_resumes_without_rerunning_finished_trials(tmp_path, tiny_dataset):
    """SIGKILL `python -m orchestrator sweep` (2 trials, one at a time) once the first trial has finished and the second
    has checkpointed: the Ray it started goes too (the raylet, GCS and every training process within a minute; Ray's
    dashboard and runtime-env agents, which train nothing, when their GCS client gives up, about a minute later, and
    not waited for here). `--tune.resume=true` then keeps the
    finished trial as it is, continues the other from its last checkpoint, and completes the sweep (summary.json)."""
    args = [*SWEEP, "--steps=100", "--tune.num_samples=2", "--tune.max_concurrent_trials=1",
            f"--tune.storage_path={tmp_path}", "--tune.experiment_name=killed"]
    experiment = tmp_path / "killed"
    proc = _cli(args, tmp_path / "first.log")
    try:
        def one_finished_one_checkpointed():
            done = [t for t, s in tune_statuses(experiment).items() if s == "TERMINATED"]
            runs = {run.name: registered(run) for run in (experiment / "train").glob("trial_*")}
            going = [name for name, entries in runs.items() if entries and 20 <= entries[-1]["step"] < 100]
            return len(done) == 1 and f"trial_{done[0]}" in runs and going and (done[0], going[0])
        finished, unfinished = wait_for(one_finished_one_checkpointed, timeout=300, every=0.2,
                                        what="a finished trial and a checkpointed one")
        ray_processes = descendants(proc.pid)
        training = [p for p, name in named(ray_processes) if "Agent" not in name]  # the agents: see the docstring
        kill(proc.pid)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL and ray_processes
    # The raylet and GCS die with the driver; the trial's Train workers may commit a checkpoint or two first.
    assert not survivors(training, timeout=60), "Ray's processes outlived the killed driver by a minute"
    finished_before = registered(experiment / "train" / f"trial_{finished}")
    kept = max(e["step"] for e in registered(experiment / "train" / unfinished))

    resumed = _cli([*args, "--tune.resume=true"], tmp_path / "resume.log")
    assert resumed.wait(timeout=300) == 0, (tmp_path / "resume.log").read_text()[-3000:]
    summary = json.loads((experiment / "summary.json").read_text())
    assert sorted(t["status"] for t in summary["trials"]) == ["finished", "finished"]
    assert registered(experiment / "train" / f"trial_{finished}") == finished_before  # not trained again
    assert _resumed_where_it_stopped(experiment / "train" / unfinished, 100) == kept
