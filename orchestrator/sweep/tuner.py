"""Build, run and restore the Tuner of a sweep; hand its results to the report and the Hub.

<storage_path>/<experiment>/
    trials/      Tune's experiment (trial folders, tuner state, logs)   -> Tuner.restore resumes it
    train/       Ray Train runs, one per trial: trial_<id>/checkpoint_*/{pretrained_model, training_state}
    baseline/    the base config's defaults, trained and evaluated on the same episodes
    best/        the best policy in the Hub layout, with its model card
    summary.json report.md
A URI storage (s3://...): Tune and Train write trials/ and train/ there directly; the driver writes its own files
into a local copy (orchestrator/runtime/storage.py: local_copy) and uploads them when the sweep ends.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import draccus
import ray
from ray import tune
from ray.tune.search import BasicVariantGenerator

from orchestrator import terminal
from orchestrator.configs.parsing import build_config, check_types, encode, merge, parse_cli
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.errors import UserError, problem, raise_if
from orchestrator.metrics import VAL_LOSS, is_eval_metric
from orchestrator.plugins import remember_packages_of
from orchestrator.policy_source import expand_policy_path
from orchestrator.results.rows import TrialRow
from orchestrator.runtime import interrupts, storage
from orchestrator.runtime.experiment import clear_interrupted
from orchestrator.runtime.ray_start import connect_ray, link_ray_logs, trials_that_fit, wait_for_a_node
from orchestrator.runtime.resources import trial_footprint
from orchestrator.runtime.storage_space import raise_if_full, storage_guard
from orchestrator.search.algorithms import search_algorithm, trial_scheduler
from orchestrator.search.conditional import is_conditional, with_defaults
from orchestrator.search.constraints import search_problems
from orchestrator.search.fine_tuning import fine_tuning_problems
from orchestrator.search.pbt import is_population, population_problems
from orchestrator.search.repeats import grid_space
from orchestrator.search.space import from_sample, has_grid, split_space
from orchestrator.search.space_file import load_sweep
from orchestrator.search.warm_start import WarmStart, load_warm_start, reuse_baseline
from orchestrator.sweep.confirm import overlapping_seeds
from orchestrator.sweep.progress import SweepProgress
from orchestrator.sweep.resume import RestoredTrialLogs, SchedulerState
from orchestrator.sweep.tensorboard import StepTensorBoard
from trainables.incumbent import create_incumbent, incumbent_name


@dataclass
class PreparedSweep:
    """A sweep checked end to end and ready to run: nothing here can fail for a reason the user could fix."""

    tune_cfg: TuneConfig
    space: dict[str, Any]  # {dotted field: distribution}
    base: dict  # plain base config (defaults where the space samples)
    overrides: dict  # nested CLI overrides, applied over every sample
    ties: dict[str, str]
    default_cfg: TrainPipelineConfig  # the base with its defaults: the baseline, and the dry-run's first config
    experiment_dir: Path  # where this driver writes its files: the experiment's folder, or the URI's local copy
    storage_dir: str  # the experiment in storage: the same folder, or a URI (s3://bucket/.../<experiment>)
    constraints: dict = field(default_factory=dict)  # {name: predicate(cfg)}: samples that break one are not trained
    warm_start: WarmStart | None = None  # an earlier sweep's results, told to the searcher first


def prepare(path: str, args: list[str]) -> PreparedSweep:
    """Load the search-space file, apply CLI overrides, and check everything that can be checked before Ray."""
    sweep, cli, tune_cfg, space, sampled_base, base = sweep_layers(path, args)
    _check_ties(sweep.ties, build_config(base, [cli], validate=False))
    default_cfg = from_sample(base, {}, cli, sweep.ties)
    if default_cfg.dataset.root:  # trials run in their own folders: every one gets the folder the user meant
        default_cfg.dataset.root = str(Path(default_cfg.dataset.root).expanduser().resolve())
        cli.setdefault("dataset", {})["root"] = default_cfg.dataset.root
    metrics = [m for m, _ in tune_cfg.objectives]
    if any(is_eval_metric(m) for m in metrics) and not default_cfg.evaluates:
        raise UserError(
            problem(
                "tune.metric",
                "needs evaluation, but eval_freq = 0: set eval_freq > 0 or optimize a train/ or policy/ metric",
                tune_cfg.metric,
            )
        )
    ds = default_cfg.dataset
    if VAL_LOSS in metrics and not ds.val_fraction and not ds.val_episodes:
        raise UserError(
            problem(
                "tune.metric",
                "needs held-out episodes: set dataset.val_fraction or dataset.val_episodes",
                tune_cfg.metric,
            )
        )
    if tune_cfg.search == "optuna" and has_grid(space):
        raise UserError(
            problem("tune.search", "optuna cannot run grid_search: use --tune.search=grid or random", tune_cfg.search)
        )
    if tune_cfg.confirm_top_k and overlapping_seeds(default_cfg, tune_cfg.confirm_seed, tune_cfg.confirm_episodes):
        raise UserError(
            problem(
                "tune.confirm_seed",
                f"confirmation episodes must be fresh: seeds {tune_cfg.confirm_seed}"
                f"..{tune_cfg.confirm_seed + tune_cfg.confirm_episodes - 1} overlap the search's "
                f"eval seeds {default_cfg.eval.seed}..{default_cfg.eval.seed + default_cfg.most_eval_episodes() - 1}",
                tune_cfg.confirm_seed,
            )
        )
    if tune_cfg.scheduler == "asha" and default_cfg.evaluates:
        grace = tune_cfg.grace_period or default_cfg.eval_freq
        if grace > default_cfg.steps:
            raise UserError(
                problem(
                    "tune.grace_period" if tune_cfg.grace_period else "eval_freq",
                    f"ASHA's first rung (step {grace}) lies beyond steps = {default_cfg.steps}: lower "
                    "it, raise steps, or use --tune.scheduler=none",
                    grace,
                )
            )
    if is_population(tune_cfg.scheduler):  # PBT/PB2 (orchestrator/search/pbt.py)
        raise_if(
            population_problems(
                tune_cfg, space, default_cfg, lambda sample: from_sample(sampled_base, sample, cli, sweep.ties)
            ),
            f"the search space cannot run with --tune.scheduler={tune_cfg.scheduler}",
        )
    raise_if(
        fine_tuning_problems(
            default_cfg.policy, space, lambda sample: from_sample(sampled_base, sample, cli, sweep.ties)
        ),
        "the search space cannot fine-tune this policy",
    )
    raise_if(
        storage.uri_problems(tune_cfg.storage_path) or storage.reach_problems(tune_cfg.storage_path),
        "storage cannot be used",
    )
    assert tune_cfg.experiment_name is not None, "_tune_config names it"
    experiment_dir = storage.join(storage.resolve(tune_cfg.storage_path), tune_cfg.experiment_name)
    if storage.exists(experiment_dir) and not tune_cfg.resume:
        raise UserError(
            problem(
                "tune.experiment_name",
                f"{experiment_dir} already exists: pass --tune.resume=true "
                "to continue it, or choose another --tune.experiment_name (nothing was changed)",
                tune_cfg.experiment_name,
            )
        )
    if tune_cfg.resume and not storage.exists(storage.join(experiment_dir, "trials")):
        raise UserError(problem("tune.resume", f"there is no sweep to resume in {experiment_dir}", True))
    raise_if(search_problems(tune_cfg, space, default_cfg, sweep.constraints), "invalid search space")
    local = storage.local_copy(experiment_dir) if storage.is_uri(experiment_dir) else Path(experiment_dir)
    if tune_cfg.warm_start and is_conditional(space):
        raise UserError(
            problem(
                "tune.warm_start", "cannot seed a conditional space (a choice of policy types)", tune_cfg.warm_start
            )
        )
    # (read on a resume too: a restored searcher keeps its own state, but the earlier baseline may still be reused)
    warm = (
        load_warm_start(
            tune_cfg.warm_start,
            space,
            tune_cfg.rank_metric,
            tune_cfg.rank_mode,
            tune_cfg.search,
            lambda sample: from_sample(base, sample, cli, sweep.ties),
            tune_cfg.repeats,
        )
        if tune_cfg.warm_start
        else None
    )
    return PreparedSweep(
        tune_cfg, space, base, cli, dict(sweep.ties), default_cfg, local, experiment_dir, dict(sweep.constraints), warm
    )


def sweep_layers(path: str, args: list[str]) -> tuple[Sweep, dict, TuneConfig, dict[str, Any], dict, dict]:
    """The search-space file and the CLI, layered: (sweep, CLI overrides, tune config, space, the base a sample
    lands on, that base with the file's defaults: the baseline's). Shared by `prepare` and `sweep --help`."""
    sweep = load_sweep(path)
    remember_packages_of(sweep.base)  # a file that imports a package of yours: the Ray workers import it too
    cli, config_path = parse_cli(args)
    if config_path:
        raise UserError(problem("config_path", "is for `train`; a sweep's base config is its search-space file"))
    tune_cfg = _tune_config(sweep, cli.pop("tune", {}), Path(path).stem)
    space, base = split_space(sweep.base, cli)
    sampled_base = _pretrained_policy_under_space(base, cli)
    base = with_defaults(sampled_base, sweep.defaults, TrainPipelineConfig)
    return sweep, cli, tune_cfg, space, sampled_base, base


def _pretrained_policy_under_space(base: dict, cli: dict) -> dict:
    """`--policy.path` on a sweep: the saved policy's config replaces the file's policy section, UNDER the search
    space (a sampled field, e.g. policy.dropout, wins over the saved value); other --policy.* flags stay on top."""
    section = cli.get("policy")
    if not isinstance(section, dict) or section.get("path") is None:
        return base
    saved = expand_policy_path({"path": section.pop("path")})
    if not section:
        cli.pop("policy")
    return {**base, "policy": saved}


def _tune_config(sweep: Sweep, layer: dict, default_name: str) -> TuneConfig:
    data = merge(encode(sweep.tune), layer, TuneConfig)
    raise_if([p.__class__(f"tune.{p.field}", p.message, p.value, p.has_value) for p in check_types(data, TuneConfig)])
    cfg = draccus.decode(TuneConfig, data)
    raise_if([p.__class__(f"tune.{p.field}", p.message, p.value, p.has_value) for p in cfg.problems()])
    cfg.experiment_name = cfg.experiment_name or default_name
    return cfg


def _check_ties(ties: dict[str, str], cfg: TrainPipelineConfig) -> None:
    bad = []
    for target, source in ties.items():
        for dotted in (target, source):
            obj = cfg
            for part in dotted.split("."):
                if not hasattr(obj, part):
                    bad.append(problem(f"ties[{target!r}]", f"{dotted} is not a field of the config"))
                    break
                obj = getattr(obj, part)
    raise_if(bad, "invalid search space")


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
    from trainables.trial import run_trial, trial_resources

    t = prepared.tune_cfg
    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial,
            base=prepared.base,
            overrides=prepared.overrides,
            ties=prepared.ties,
            train_storage=storage.join(prepared.storage_dir, "train"),
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
            trial_name_creator=lambda trial: f"trial_{trial.trial_id}",
            trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}",
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
                    str(prepared.experiment_dir / "logs" / f"{name}.log"),
                    kind=name,
                ),
                SchedulerState(scheduler),
                RestoredTrialLogs(),  # what a resumed sweep needs (sweep_state.py)
                StepTensorBoard(),
            ],  # TensorBoard against the training step (Tune's own: its report count)
        ),
    )


STUDY = "optuna/study.log"  # the Optuna study (JournalStorage), in the experiment folder: `optuna-dashboard <it>`
TITLES = {
    "trials": "Trials",
    "baseline": "Baseline (the default config)",
    "seeds": "The winner's config, other seeds",
    "baseline_seeds": "The default config, the same seeds",
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


def run(prepared: PreparedSweep) -> tuple[tune.ResultGrid, tune.ResultGrid | TrialRow | None]:
    """Fit the sweep, then the baseline (the base config's defaults on the same evaluation episodes), unless the warm
    start's baseline is this one's run (then its row, reused: orchestrator/search/warm_start.py)."""
    connect_ray()
    _ready_storage(prepared)
    link_ray_logs(prepared.experiment_dir)
    clear_interrupted(prepared.storage_dir)
    t = prepared.tune_cfg
    incumbent = (
        create_incumbent(storage.join(prepared.storage_dir, "trials")) if _incumbent_of(prepared, "trials") else None
    )  # the search's best evaluation so far, for staged evaluations (held for the whole search)
    results = fit(build_tuner(prepared, "trials", prepared.space, t.num_samples, search=True), prepared.storage_dir)
    if incumbent is not None:
        ray.kill(incumbent)
    baseline = None
    if t.baseline and prepared.space:
        baseline = reuse_baseline(
            prepared.warm_start, prepared.storage_dir, str(prepared.experiment_dir / "logs" / "baseline.log")
        ) or fit(build_tuner(prepared, "baseline", {}, 1, search=False), prepared.storage_dir)
    return results, baseline


def _incumbent_of(prepared: PreparedSweep, name: str) -> str | None:
    """The incumbent actor's name for the search's trials when they stage their evaluations (the baseline and the
    seed retrains evaluate every episode: they are compared, not searched)."""
    staged = prepared.default_cfg.evaluates and prepared.default_cfg.eval.stage_episodes > 0
    return incumbent_name(storage.join(prepared.storage_dir, "trials")) if staged and name == "trials" else None


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


def retrain_with_seeds(prepared: PreparedSweep, params: dict, seeds: list[int], name: str = "seeds") -> tune.ResultGrid:
    """The same sampled config trained again with each of `seeds` (one trial per seed, no search, no scheduler), as
    the Tune experiment `name`: seeds (the winner's config) or baseline_seeds (the default config: params {})."""
    space = {**params, "seed": tune.grid_search(seeds)}
    return fit(build_tuner(prepared, name, space, 1, search=False), prepared.storage_dir)
