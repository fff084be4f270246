"""The Tune trainable: one trial = one Ray Train TorchTrainer (Train V2's pattern: a Tune function that builds and
fits the trainer, with TuneReportCallback forwarding rank 0's reports to Tune)."""

from __future__ import annotations

import time

_IMPORT_START = time.time()  # this module's imports (ray.train, torch) are part of a trial's start-up

import math
import os
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray import tune
from ray.train.torch import TorchConfig

if TYPE_CHECKING:  # ray.train re-exports Train v2's classes only at run time (v2 is on by default): name them here
    from ray.train.v2.api.callback import UserCallback
    from ray.train.v2.api.config import FailureConfig, RunConfig, ScalingConfig
    from ray.train.v2.torch.torch_trainer import TorchTrainer
else:
    from ray.train import FailureConfig, RunConfig, ScalingConfig, UserCallback
    from ray.train.torch import TorchTrainer
from ray.train.v2._internal.callbacks import DatasetsCallback
from ray.tune.integration.ray_train import CHECKPOINT_PATH_KEY, TuneReportCallback
from ray.util.queue import Empty, Queue

from orchestrator import metrics as M
from orchestrator.configs.parsing import encode
from orchestrator.configs.train import ResourcesConfig, TrainPipelineConfig
from orchestrator.experiment_layout import RESULT, trial_folder
from orchestrator.metrics import CHECKPOINT_PATH
from orchestrator.plugins import import_user_packages
from orchestrator.runtime import storage as storage_lib
from orchestrator.runtime.resources import trial_bundles
from orchestrator.search.constraints import violated
from orchestrator.search.space import from_sample
from trainables import exploit, phase_log, replay
from trainables.evaluator import EvalPool, create_actors
from trainables.incumbent import find_incumbent
from trainables.train_loop import train_loop_per_worker

_IMPORT_END = time.time()


def run_trial(
    sample: dict,
    base: dict,
    overrides: dict,
    ties: dict,
    train_storage: str,
    results_storage: str,
    constraints: dict | None = None,
    population: bool = False,
    incumbent: str | None = None,
) -> None:
    """Tune calls this once per trial with the sampled point (flat dotted keys). A config that breaks one of the
    search space's constraints is not trained: the trial reports it infeasible once and ends. A restored trial first
    tells Tune the checkpointed reports its saved record (under `results_storage`) lacks (trainables/replay.py).
    `population` (PBT, PB2): the trial reports Tune checkpoints that point to its Train checkpoints, and may continue
    another trial's (trainables/exploit.py). `incumbent`: the name of the sweep's best-so-far actor, which staged
    evaluations compare with (trainables/incumbent.py)."""
    trial_id = tune.get_context().get_trial_id()
    phase_log.mark_entry(trial_folder(trial_id), "driver", _IMPORT_START, _IMPORT_END)
    import_user_packages()  # the user's own policy/env packages, named by the driver (orchestrator/plugins.py)
    cfg = from_sample(base, sample, overrides, ties, validate=False)
    broken = violated(constraints or {}, cfg)
    if broken:
        tune.report({M.INFEASIBLE: True, M.VIOLATED: broken, M.STEP: 0})
        return
    cfg = cfg.validate()
    if cfg.wandb.enable and cfg.wandb.group is None:
        cfg.wandb.group = tune.get_context().get_experiment_name()
    if cfg.wandb.enable and cfg.wandb.dir is None:  # W&B runs live beside the sweep's other artifacts
        # W&B writes local files: for a URI storage, into the experiment's local copy on this node (the driver's
        # node uploads its copy when the sweep ends)
        train = storage_lib.local_copy(train_storage) if storage_lib.is_uri(train_storage) else Path(train_storage)
        cfg.wandb.dir = str(train.resolve().parent)
    run_name, on_report, start_from = trial_folder(trial_id), None, None
    if population:
        plan = exploit.start(trial_id, sample)
        run_name, on_report, start_from = (
            plan.run_name,
            exploit.PointerReporter(trial_id, plan.run_name, sample),
            plan.start_from,
        )
    missed = replay.unseen_reports(
        storage_lib.join(train_storage, run_name), storage_lib.join(results_storage, trial_folder(trial_id), RESULT)
    )
    for report in missed:
        (on_report or tune.report)(report)
    if not missed or missed[-1][M.STEP] < cfg.steps:  # (a run that finished before the stop trains no more)
        fit_trainer(
            cfg,
            run_name=run_name,
            storage=train_storage,
            report_to_tune=True,
            on_report=on_report,
            start_from=start_from,
            incumbent=incumbent,
        )
    phase_log.mark(trial_folder(trial_id), "driver_end")


def fit_trainer(
    cfg: TrainPipelineConfig,
    run_name: str,
    storage: str,
    report_to_tune: bool,
    on_report: Callable[[dict], None] | None = None,
    start_from: str | None = None,
    incumbent: str | None = None,
):
    """Build and fit the TorchTrainer of one run. The same storage + run name resumes from the last checkpoint.
    `on_report` is called in this process with rank 0's metrics (and `checkpoint_path`) of every report; in Tune it
    replaces TuneReportCallback and must report to Tune itself. `start_from`: a Train checkpoint (of another run)
    that a new run starts from."""
    loop_config: dict[str, Any] = {"train_config": encode(cfg), "run_name": run_name}
    if start_from:
        loop_config["start_from"] = start_from
    # In Tune, one report at a time (as TuneReportCallback's queue): Train waits for Tune's decision on each.
    relay = _ReportRelay(on_report, storage, maxsize=1 if report_to_tune else 0) if on_report is not None else None
    phase_log.mark(run_name, "evaluators_start")
    if cfg.evaluates:
        actors = create_actors(
            loop_config["train_config"],
            cfg.eval.num_actors,
            cfg.resources.cpus_per_eval_actor,
            owner=run_name,
            gpus_per_actor=cfg.resources.gpus_per_eval_actor,
        )
        loop_config["evaluator"] = EvalPool(
            actors,
            cfg.eval.n_episodes,
            cfg.eval.seed,
            partial(cfg.eval.episodes_at, eval_freq=cfg.eval_freq),
            cfg.eval.stage_episodes,
            cfg.eval.sequential_alpha,
            find_incumbent(incumbent),
        )
    phase_log.mark(run_name, "fit_start")
    trainer = _TorchTrainer(
        train_loop_per_worker,
        train_loop_config=loop_config,
        scaling_config=scaling_config(cfg.resources),
        torch_config=TorchConfig(backend="nccl" if cfg.resources.use_gpu else "gloo"),
        run_config=RunConfig(
            name=run_name,
            storage_path=storage_lib.resolve(storage),
            callbacks=[relay.callback] if relay else [_TuneReport(storage)] if report_to_tune else [],
            # In a sweep, Tune retries a crashed trial (tune.max_failures) and it resumes from its last checkpoint.
            # A Train-level retry there races the trial's teardown when the scheduler stops it: the dying controller
            # starts a new worker group whose placement group nobody removes, and the sweep deadlocks on that CPU.
            failure_config=FailureConfig(
                max_failures=0 if report_to_tune else 1, controller_failure_limit=placement_attempts(cfg.resources)
            ),
        ),
    )
    try:
        return trainer.fit()
    finally:
        phase_log.mark(run_name, "fit_end")
        if relay:
            relay.close()
        for actor in loop_config.get("evaluator", EvalPool([], 0, 0)).actors:
            ray.kill(actor)


class _TorchTrainer(TorchTrainer):
    """Ray Train's TorchTrainer, less the Ray Data actor a run without Ray Datasets never uses. Train V2 starts a
    `DatasetManager` actor for every worker group whatever `datasets` holds (its DatasetsCallback); our workers read
    the LeRobot dataset themselves, so that actor is one idle process per Train run (~1 CPU-s to start on this 2-core
    machine, measured per trial: benchmarks/README.md). With `datasets` given, the trainer is Ray's own."""

    def _create_default_callbacks(self):
        callbacks = super()._create_default_callbacks()
        if self.datasets:
            return callbacks
        return [c for c in callbacks if not isinstance(c, DatasetsCallback)]


class _TuneReport(TuneReportCallback):
    """TuneReportCallback whose checkpoint_path names the storage: Ray gives a URI storage's checkpoints as bucket/key,
    its scheme stripped; the sweep reads them back as s3://bucket/key (orchestrator/results/candidates.py)."""

    def __init__(self, storage: str):
        super().__init__()
        self.storage = storage

    def after_report(self, run_context, metrics: list[dict], checkpoint) -> None:
        if checkpoint is not None and storage_lib.is_uri(self.storage):
            metrics = [
                {**metrics[0], CHECKPOINT_PATH_KEY: storage_lib.with_path(self.storage, checkpoint.path)},
                *metrics[1:],
            ]
            checkpoint = None
        super().after_report(run_context, metrics, checkpoint)


class _RelayCallback(UserCallback):
    """Runs in the Ray Train controller: puts rank 0's metrics of each report on a queue the driver reads."""

    def __init__(self, queue: Queue, storage: str):
        self.queue, self.storage = queue, storage

    def after_report(self, run_context, metrics: list[dict], checkpoint) -> None:
        report = dict(metrics[0])
        if checkpoint:  # as TuneReportCallback (_TuneReport: a URI storage's checkpoint as s3://bucket/key)
            report[CHECKPOINT_PATH] = storage_lib.with_path(self.storage, checkpoint.path)
        self.queue.put(report)


class _ReportRelay:
    """Reports reach the driver through a Ray queue (not the workers' stdout): a thread here hands each to
    `on_report` while trainer.fit() runs."""

    def __init__(self, on_report: Callable[[dict], None], storage: str, maxsize: int = 0):
        self.queue = Queue(maxsize=maxsize, actor_options={"num_cpus": 0})
        self.callback = _RelayCallback(self.queue, storage)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(on_report,), daemon=True)
        self.thread.start()

    def _run(self, on_report: Callable[[dict], None]) -> None:
        while True:
            try:
                on_report(self.queue.get(timeout=0.5))
            except Empty:
                if self.done.is_set():
                    return
            except Exception:  # noqa: BLE001  (Ray going down under Ctrl-C: stop relaying, training is unaffected)
                return

    def close(self) -> None:
        self.done.set()
        self.thread.join(timeout=10)
        self.queue.shutdown()


def placement_attempts(res: ResourcesConfig) -> int:
    """Ray Train retries placing a worker group forever by default (WorkerGroupStartupTimeoutError every
    RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S, 60 s): bounded here by resources.placement_timeout_s."""
    per_attempt = float(os.environ.get("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", 60.0))
    return max(0, math.ceil(res.placement_timeout_s / per_attempt) - 1)


def scaling_config(res: ResourcesConfig) -> ScalingConfig:
    per_worker = {"CPU": res.cpus_per_worker}
    if res.use_gpu:
        per_worker["GPU"] = res.gpus_per_worker
    return ScalingConfig(num_workers=res.num_workers, use_gpu=res.use_gpu, resources_per_worker=per_worker)


def trial_resources(cfg: TrainPipelineConfig) -> tune.PlacementGroupFactory:
    """What Tune reserves per trial (orchestrator/runtime/resources.py: the driver's bundle, one per evaluator
    actor). The Train workers get their own placement group from Ray Train; the sweep's concurrency counts them."""
    return tune.PlacementGroupFactory(trial_bundles(cfg))
