"""Faults in a sweep, injected by pid: the trial's driver (Tune's trial actor) and a whole simulated node. Each test
asserts what was kept and at which step training continued. (The sweep driver itself, SIGKILLed and then resumed with
--tune.resume=true: tests/e2e/test_interrupts.py, after a Ctrl-C of the same sweep.)"""

import threading
from pathlib import Path

import pytest

from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.recipe import search
from tests.conftest import TINY_ACT
from tests.faults.inject import (
    attempts,
    kill,
    ray_pids,
    registered,
    registered_step,
    resumed_where_it_stopped,
    wait_for,
)

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
ACT = str(ROOT / "search_spaces" / "act.py")
# One tiny ACT per trial, a checkpoint every 10 steps, no evaluation: faults, not search, are under test.
SWEEP = [
    "--tune.search=random",
    "--tune.metric=train/loss",
    "--tune.mode=min",
    "--tune.scheduler=none",
    "--tune.baseline=false",
    "--tune.confirm_top_k=0",
    "--tune.max_failures=1",
    *TINY_ACT,
    "--batch_size=16",
    "--log_freq=10",
    "--save_freq=10",
    "--eval_freq=0",
    "--dataset.record_episodes=3",
]


def _in_background(fn) -> tuple[threading.Thread, list]:
    """Run `fn` in a thread; what it returns lands in the list, or, if it raised, the exception's text (so an
    assertion on the list shows why the fault was not injected)."""
    out = []

    def body():
        try:
            out.append(fn())
        except BaseException as e:  # reported through `out`, read by the test
            out.append(f"not injected: {type(e).__name__}: {e}")

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, out


def test_killed_trial_driver_is_retried_by_tune_from_its_last_checkpoint(tmp_path, tiny_dataset, ray_cluster):
    prepared = prepare(
        ACT,
        [
            *SWEEP,
            "--steps=300",  # (80 steps train in ~3 s here: the kill after step 20 came after the trial ended)
            "--tune.num_samples=1",
            f"--tune.storage_path={tmp_path}",
            "--tune.experiment_name=driver",
        ],
    )
    train, earlier = tmp_path / "driver" / "train", ray_pids("ImplicitFunc", ray_cluster)

    def kill_the_trial_driver() -> int:
        # Tune's actor running run_trial (owns the trainer), found by its process title once a checkpoint at step >= 20
        # is registered: the rest of the run takes ~2 s here, too short for Ray's state API under load (CI, twice)
        wait_for(lambda: registered_step(train, 20), what="a registered checkpoint at step >= 20", every=0.02)
        [driver] = ray_pids("ImplicitFunc", ray_cluster) - earlier
        kill(driver)
        return driver

    killer, killed = _in_background(kill_the_trial_driver)
    results, _ = search(prepared)
    killer.join(timeout=5)
    assert killed and not str(killed[0]).startswith("not injected"), killed
    assert results.num_errors == 0
    result = results[0]
    kept = resumed_where_it_stopped(next(train.glob("trial_*")), 300)
    assert result.metrics["step"] == 300 and result.metrics["start_step"] == kept


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
    holders = [
        Holder.options(
            num_cpus=n["Resources"]["CPU"], scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote()
        for n in shared
    ]
    ray.get([h.ready.remote() for h in holders])
    node = ray_cluster.add_node(num_cpus=2, memory=3 * 2**30, object_store_memory=300 * 2**20)
    try:
        ray_cluster.wait_for_nodes()
        prepared = prepare(
            ACT,
            [
                *SWEEP,
                "--steps=80",
                "--tune.num_samples=1",
                f"--tune.storage_path={tmp_path}",
                "--tune.experiment_name=node",
            ],
        )
        train = tmp_path / "node" / "train"

        def kill_the_node() -> str:
            wait_for(lambda: registered_step(train, 20), what="a registered checkpoint at step >= 20")
            ray_cluster.remove_node(node, allow_graceful=False)  # SIGKILL to every process of the node
            for h in holders:  # the shared nodes take the retry
                ray.kill(h)
            return node.node_id

        killer, killed = _in_background(kill_the_node)
        results, _ = search(prepared)
        killer.join(timeout=5)
    finally:
        for h in holders:
            ray.kill(h)
        if node in ray_cluster.worker_nodes:
            ray_cluster.remove_node(node, allow_graceful=False)
        # Until Ray's GCS misses enough of its heartbeats, the dead node still counts as alive, and the next test's
        # actors may be placed there (and die with it: seen for a 0-CPU queue actor in CI)
        wait_for(
            lambda: not [n for n in ray.nodes() if n["NodeID"] == node.node_id and n["Alive"]],
            timeout=120,
            what="Ray's GCS to mark the lost node dead",
        )
    assert killed and not str(killed[0]).startswith("not injected"), killed
    assert results.num_errors == 0
    run = next(train.glob("trial_*"))
    kept = resumed_where_it_stopped(run, 80)
    first, resumed = attempts(registered(run))
    assert {e["node_id"] for e in first} == {killed[0]}  # trained on the node that was lost
    assert killed[0] not in {e["node_id"] for e in resumed}  # then elsewhere
    assert results[0].metrics["start_step"] == kept and results[0].metrics["step"] == 80
