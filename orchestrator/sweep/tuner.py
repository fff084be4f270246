"""The Tuner of a sweep: built (searcher, scheduler, our callbacks), fit, restored on a resume; the fits of the
search, the baseline and the seed retrains, each a Tune experiment of its own in the experiment folder (where a
sweep keeps its files: orchestrator/experiment_layout.py).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil

import ray
from ray import tune
from ray.tune.search import BasicVariantGenerator

from orchestrator import terminal
from orchestrator.errors import UserError, problem, raise_if
from orchestrator.experiment_layout import BASELINE, BASELINE_SEEDS, SEEDS, STUDY, TRAIN, TRIALS, log_file, trial_folder
from orchestrator.results.rows import TrialRow
from orchestrator.runtime import interrupts, storage
from orchestrator.runtime.experiment import clear_interrupted
from orchestrator.runtime.ray_start import connect_ray, link_ray_logs, trials_that_fit, wait_for_a_node
from orchestrator.runtime.resources import trial_footprint
from orchestrator.runtime.storage_space import raise_if_full, storage_guard
from orchestrator.search.algorithms import search_algorithm, trial_scheduler
from orchestrator.search.conditional import is_conditional
from orchestrator.search.pbt import is_population
from orchestrator.search.repeats import grid_space
from orchestrator.search.warm_start import reuse_baseline
from orchestrator.sweep.prepare import PreparedSweep
from orchestrator.sweep.progress import SweepProgress
from orchestrator.sweep.resume import RestoredTrialLogs, SchedulerState
from orchestrator.sweep.tensorboard import StepTensorBoard
from trainables.incumbent import create_incumbent, incumbent_name
from trainables.trial import run_trial, trial_resources


def max_concurrency(prepared: PreparedSweep) -> int:
    """Trials that fit at once, node by node: Tune only sees each trial's driver bundle, so count the Train workers
    and evaluators too, or trials would start and wait forever for workers that cannot be placed."""

    need = trial_footprint(prepared.default_cfg)
    fits = trials_that_fit(need)
    if fits < 1:
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        total = {k: sum(res.get(k, 0) for res in nodes) for k in need}
        if not os.environ.get("RAY_ADDRESS"):
            raise UserError(
                problem(
                    "resources",
                    f"one trial needs {need} on one node, but this machine has {total}: "
                    "lower resources.* or eval.num_actors",
                ),
                "the sweep cannot run",
            )
        fits = wait_for_a_node(need, prepared.default_cfg.resources.placement_timeout_s)
    wanted = prepared.tune_cfg.max_concurrent_trials
    return min(fits, wanted) if wanted else fits


def build_tuner(prepared: PreparedSweep, name: str, space: dict, num_samples: int, search: bool) -> tune.Tuner:
    t = prepared.tune_cfg
    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial,
            base=prepared.base,
            overrides=prepared.overrides,
            ties=prepared.ties,
            train_storage=storage.join(prepared.storage_dir, TRAIN),
            results_storage=storage.join(prepared.storage_dir, name),
            constraints=prepared.constraints,
            population=search and is_population(prepared.tune_cfg.scheduler),
            incumbent=_incumbent_of(prepared, name),
        ),
        trial_resources(prepared.default_cfg),
    )
    path = storage.join(prepared.storage_dir, name)
    if t.resume and tune.Tuner.can_restore(path):
        # Tuner.restore loads the results so far, and warns "Failed to fetch metrics" for each trial that had not
        # reported yet when the sweep stopped: nothing is missing, such a trial simply starts (or restarts) now.
        analysis = logging.getLogger("ray.tune.analysis.experiment_analysis")
        level = analysis.level
        analysis.setLevel(logging.ERROR)
        try:
            return tune.Tuner.restore(path, trainable=trainable, resume_errored=True)
        finally:
            analysis.setLevel(level)
    concurrency = max_concurrency(prepared)
    if search and not space and t.search != "grid":  # every searched field fixed (e.g. by flags): one config to run
        terminal.say(
            "nothing left to search (every searched field is fixed): one config"
            + (f", {t.repeats} seeds" if t.repeats > 1 else "")
        )
        t, num_samples = dataclasses.replace(t, search="grid"), 1
    search_alg = (
        search_algorithm(t, concurrency, space, prepared.warm_start, study=str(prepared.experiment_dir / STUDY))
        if search
        else None
    )
    scheduler = trial_scheduler(t, prepared.default_cfg, space) if search else None
    param_space = space
    if search:  # repeats: num_samples configs x repeats seeds; a conditional space lives in the searcher
        num_samples *= t.repeats if t.search != "grid" else 1
        param_space = {} if is_conditional(space) else grid_space(space, t.repeats) if t.search == "grid" else space
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=t.rank_metric,
            mode=t.rank_mode,
            num_samples=num_samples,  # schedulers: the first objective
            search_alg=search_alg,
            scheduler=scheduler,
            # Tune applies this limit to a Searcher (it wraps it in a ConcurrencyLimiter) and to its own default
            # generator; a BasicVariantGenerator we build takes the limit itself, and Tune would ignore this one.
            max_concurrent_trials=None if isinstance(search_alg, BasicVariantGenerator) else concurrency,
            trial_name_creator=lambda trial: trial_folder(trial.trial_id),
            trial_dirname_creator=lambda trial: trial_folder(trial.trial_id),
            # No reuse_actors: a trial the scheduler stops is still inside trainer.fit() for seconds, and Tune's
            # reset of that actor for the next trial then fails and errors the next trial ("Could not re-use actor").
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=prepared.storage_dir,
            failure_config=tune.FailureConfig(max_failures=t.max_failures),
            stop=storage_guard(prepared.storage_dir),  # a full disk stops the sweep at once (storage_space.py)
            # Files a trial writes in its folder (PBT's lineage.jsonl) reach a URI storage only as synced artifacts.
            sync_config=tune.SyncConfig(sync_artifacts=storage.is_uri(prepared.storage_dir)),
            # Our live table and log lines (orchestrator/terminal.py) replace Tune's status output unless --verbose.
            verbose=None if terminal.verbose() else 0,
            callbacks=[
                SweepProgress(
                    TITLES.get(name, name),
                    list(space),
                    prepared.default_cfg.steps,
                    [m for m, _ in t.objectives],
                    str(prepared.experiment_dir / log_file(name)),
                    kind=name,
                ),
                SchedulerState(scheduler),
                RestoredTrialLogs(),  # what a resumed sweep needs (sweep_state.py)
                StepTensorBoard(),
            ],  # TensorBoard against the training step (Tune's own: its report count)
        ),
    )


TITLES = {
    TRIALS: "Trials",
    BASELINE: "Baseline (the default config)",
    SEEDS: "The winner's config, other seeds",
    BASELINE_SEEDS: "The default config, the same seeds",
}


def fit(tuner: tune.Tuner, storage_dir: str) -> tune.ResultGrid:
    """Tuner.fit, ending the live table whatever happens. A Ctrl-C, SIGINT or SIGTERM during it stops Tune
    gracefully (the experiment state saved, trials resumable) and then raises interrupts.Interrupted; a full storage
    volume stops it the same way and raises storage_space.StorageFull."""
    if not terminal.verbose():  # Tune's newer output engine prints its start box even at verbose=0; the older is silent
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    try:
        with interrupts.tune_running():
            results = tuner.fit()
    except OSError as e:  # Tune's own state files: a disk that filled before the guard saw it
        raise_if_full(storage_dir, e)
        raise
    finally:
        terminal.stop_live()
    interrupts.raise_if_requested()
    raise_if_full(storage_dir)
    return results


def start_ray(prepared: PreparedSweep) -> None:
    """Connect to Ray (or start it), make the storage ready for this sweep, link Ray's logs into the experiment and
    clear the marker an interrupted run left: from here on the sweep runs."""
    connect_ray()
    _ready_storage(prepared)
    link_ray_logs(prepared.experiment_dir)
    clear_interrupted(prepared.storage_dir)


def fit_trials(prepared: PreparedSweep) -> tune.ResultGrid:
    """The search: the trials the searcher samples and the scheduler stops, as the Tune experiment `trials`."""
    incumbent = (
        create_incumbent(storage.join(prepared.storage_dir, TRIALS)) if _incumbent_of(prepared, TRIALS) else None
    )  # the search's best evaluation so far, for staged evaluations (held for the whole search)
    tuner = build_tuner(prepared, TRIALS, prepared.space, prepared.tune_cfg.num_samples, search=True)
    results = fit(tuner, prepared.storage_dir)
    if incumbent is not None:
        ray.kill(incumbent)
    return results


def fit_baseline(prepared: PreparedSweep) -> tune.ResultGrid | TrialRow:
    """The baseline: the base config's defaults on the same evaluation episodes, unless the warm start's baseline is
    this one's run (then its row, reused: orchestrator/search/warm_start.py)."""
    return reuse_baseline(
        prepared.warm_start, prepared.storage_dir, str(prepared.experiment_dir / log_file(BASELINE))
    ) or fit(build_tuner(prepared, BASELINE, {}, 1, search=False), prepared.storage_dir)


def _incumbent_of(prepared: PreparedSweep, name: str) -> str | None:
    """The incumbent actor's name for the search's trials when they stage their evaluations (the baseline and the
    seed retrains evaluate every episode: they are compared, not searched)."""
    staged = prepared.default_cfg.evaluates and prepared.default_cfg.eval.stage_episodes > 0
    return incumbent_name(storage.join(prepared.storage_dir, TRIALS)) if staged and name == TRIALS else None


def _ready_storage(prepared: PreparedSweep) -> None:
    """Refuse a local storage path that the cluster's hosts cannot all see (checked on each host only when the
    cluster spans several); start a URI's local copy empty (files of an earlier experiment of that name, since
    deleted from storage, would be uploaded with this one's)."""
    path, nodes = prepared.tune_cfg.storage_path, ray.nodes()
    if storage.cluster_problems(path, nodes):
        seen = storage.hosts_seeing(storage.resolve(path), nodes)
        raise_if(storage.cluster_problems(path, nodes, seen), "storage the cluster cannot share")
    if storage.is_uri(prepared.storage_dir) and not prepared.tune_cfg.resume:
        shutil.rmtree(prepared.experiment_dir, ignore_errors=True)


def retrain_with_seeds(prepared: PreparedSweep, params: dict, seeds: list[int], name: str = SEEDS) -> tune.ResultGrid:
    """The same sampled config trained again with each of `seeds` (one trial per seed, no search, no scheduler), as
    the Tune experiment `name`: seeds (the winner's config) or baseline_seeds (the default config: params {})."""
    space = {**params, "seed": tune.grid_search(seeds)}
    return fit(build_tuner(prepared, name, space, 1, search=False), prepared.storage_dir)
