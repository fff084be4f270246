"""On a Ray cluster (RAY_ADDRESS), resources no node has yet are asked of the autoscaler and waited for, for a
bounded time, then refused with a message naming the fields: never an endless wait. The confirmation counts the CPUs
a run that just ended is still releasing as free, waiting a bounded time for them."""

import threading
import time

import pytest
import ray
from ray.util.placement_group import placement_group, remove_placement_group

from orchestrator.configs.train import ResourcesConfig
from orchestrator.errors import UserError
from orchestrator.runtime.ray_start import wait_for_a_node
from orchestrator.sweep.confirm import free_cpus
from trainables.trial import placement_attempts

pytestmark = pytest.mark.integration


def test_no_node_fits_a_trial_waits_a_bounded_time_then_says_which_fields(ray_cluster, capsys):
    start = time.monotonic()
    with pytest.raises(UserError) as refused:
        wait_for_a_node({"CPU": 64.0}, timeout_s=2.0, poll_s=0.5)  # each node of the test cluster has 2 CPUs
    assert time.monotonic() - start < 10
    assert "resources.placement_timeout_s = 2 s" in str(refused.value) and "lower resources.*" in str(refused.value)
    assert "asked the autoscaler for one, waiting up to 2 s" in capsys.readouterr().out
    assert wait_for_a_node({"CPU": 1.0}, timeout_s=2.0) == 4  # 2 nodes x 2 CPUs: at once


def test_placing_train_workers_is_retried_for_a_bounded_time(monkeypatch):
    monkeypatch.delenv("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", raising=False)
    assert placement_attempts(ResourcesConfig(placement_timeout_s=600)) == 9  # 10 attempts of 60 s
    assert placement_attempts(ResourcesConfig(placement_timeout_s=30)) == 0  # one attempt
    monkeypatch.setenv("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", "20")
    assert placement_attempts(ResourcesConfig(placement_timeout_s=600)) == 29


def test_confirmation_counts_the_cpus_a_run_that_just_ended_is_releasing(ray_cluster):
    """A placement group removed a moment after the confirmation looks (as a finished trial's is) still counts as free;
    one that stays held is waited for at most SETTLE_S."""
    held = placement_group([{"CPU": 1.0}])
    ray.get(held.ready(), timeout=30)
    threading.Timer(1.0, remove_placement_group, args=(held,)).start()
    start = time.monotonic()
    assert free_cpus(settle_s=20) == 4  # 2 nodes x 2 CPUs, once the group is gone
    assert 0.5 < time.monotonic() - start < 15
    still = placement_group([{"CPU": 1.0}])
    ray.get(still.ready(), timeout=30)
    try:
        start = time.monotonic()
        assert free_cpus(settle_s=1.0) == 3
        assert 1.0 <= time.monotonic() - start < 5
    finally:
        remove_placement_group(still)
