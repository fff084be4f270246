"""A sweep checked end to end before Ray: the search-space file and the CLI layered into the base config, the
space, the tune settings, and every problem the user could fix refused here (exit 2), not after the trials ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import draccus

from orchestrator.configs.parsing import build_config, check_types, encode, merge, parse_cli
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.errors import UserError, problem, raise_if
from orchestrator.experiment_layout import TRIALS
from orchestrator.metrics import VAL_LOSS, is_eval_metric
from orchestrator.plugins import remember_packages_of
from orchestrator.policy_source import expand_policy_path
from orchestrator.runtime import storage
from orchestrator.search.conditional import is_conditional, with_defaults
from orchestrator.search.constraints import search_problems
from orchestrator.search.fine_tuning import fine_tuning_problems
from orchestrator.search.pbt import is_population, population_problems
from orchestrator.search.space import from_sample, has_grid, split_space
from orchestrator.search.space_file import load_sweep
from orchestrator.search.warm_start import WarmStart, load_warm_start
from orchestrator.sweep.confirm import overlapping_seeds


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
    if tune_cfg.resume and not storage.exists(storage.join(experiment_dir, TRIALS)):
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
