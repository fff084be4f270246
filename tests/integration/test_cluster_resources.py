"""On a Ray cluster (RAY_ADDRESS), resources no node has yet are asked of the autoscaler and waited for, for a
bounded time, then refused with a message naming the fields: never an endless wait."""

import time

import pytest

from orchestrator.configs.train import ResourcesConfig
from orchestrator.errors import UserError
from orchestrator.runtime.ray_start import wait_for_a_node
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
