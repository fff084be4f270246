"""What one trial holds while it runs, from its config alone (no Ray, no torch): the bundles Tune reserves for it
(its driver, one per evaluator actor) and its whole footprint (those plus the Train workers, which Ray Train places
itself). One home for that arithmetic: the sweep's concurrency, the report's compute and the confirmation read it."""

from __future__ import annotations

from orchestrator.configs.train import TrainPipelineConfig

# A trial's driver only waits on its trainer and evaluators: it reserves memory, no CPU (Ray rejects {"CPU": 0}).
DRIVER_BUNDLE: dict[str, float] = {"memory": 256 * 2**20}


def trial_bundles(cfg: TrainPipelineConfig) -> list[dict[str, float]]:
    """Tune's placement group of a trial: the driver's bundle, then one bundle per evaluator actor."""
    res = cfg.resources
    actor: dict[str, float] = {"CPU": res.cpus_per_eval_actor} if res.cpus_per_eval_actor > 0 else dict(DRIVER_BUNDLE)
    if res.gpus_per_eval_actor > 0:
        actor["GPU"] = res.gpus_per_eval_actor
    actors = [actor] * cfg.eval.num_actors if cfg.evaluates else []
    return [dict(DRIVER_BUNDLE), *(dict(a) for a in actors)]


def trial_footprint(cfg: TrainPipelineConfig) -> dict[str, float]:
    """Everything one trial occupies while it runs: driver + evaluators + Train workers (CPU, and GPU if any)."""
    res = cfg.resources
    bundles = trial_bundles(cfg)
    out = {"CPU": sum(b.get("CPU", 0.0) for b in bundles) + res.num_workers * res.cpus_per_worker}
    gpus = sum(b.get("GPU", 0.0) for b in bundles)  # the evaluators'
    gpus += res.num_workers * res.gpus_per_worker if res.use_gpu else 0.0
    if gpus:
        out["GPU"] = gpus
    return out


def resource_hours(seconds: dict[str, float], footprints: dict[str, dict[str, float]], resource: str = "CPU") -> float:
    """Resource-hours held: each run's wall seconds x what it held itself (runs with no known footprint count 0)."""
    return sum(s / 3600 * footprints[k].get(resource, 0.0) for k, s in seconds.items() if k in footprints)
