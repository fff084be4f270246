"""A trial body that does what a sweep's trial holds and asks for, without training: it holds the trial's own bundles
(Tune's), needs one CPU outside them as its Train worker would, and reports three evaluated steps. For tests of how
Tune runs trials (tests/integration/test_search_concurrency.py). It lives here, not in the test module, because Tune's
trial actors import the module that defines it: this one imports Ray Tune and the metric names only (~0.8 CPU-s),
where the test module's imports bring torch and Ray Train (~2.7 CPU-s per trial)."""

import time

import ray
from ray import tune
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from orchestrator.metrics import EVAL_AVG_MAX_REWARD, EVAL_STEP, STEP


@ray.remote(num_cpus=1)
def _like_a_train_worker() -> float:
    time.sleep(0.2)
    return time.time()


def trial_body(sample, base, overrides, ties, train_storage, **_):
    """Holds what a trial holds (Tune's bundles), then needs a CPU outside them, as its Train worker would."""
    escape = PlacementGroupSchedulingStrategy(placement_group=None)
    started = time.time()
    ray.get(_like_a_train_worker.options(scheduling_strategy=escape).remote(), timeout=60)
    for step in (10, 20, 30):
        time.sleep(0.2)
        tune.report(
            {
                STEP: step,
                EVAL_STEP: step,
                "started": started,
                "now": time.time(),
                EVAL_AVG_MAX_REWARD: sample.get("optimizer.lr", 0.0) * step,
            }
        )
