"""How a sweep searches: metric, search algorithm, scheduler, budget, storage. Settable as --tune.<field>."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.configs.checks import in_range, non_negative, one_of, positive
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import Problem, problem
from orchestrator.metrics import EVAL_SUCCESS, OPTIMIZABLE


@dataclass
class TuneConfig:
    """Ray Tune settings of a sweep."""

    metric: list[str] | str = EVAL_SUCCESS  # the reported metric to optimize (one of orchestrator.metrics.OPTIMIZABLE),
    #   or a list of objectives, e.g. [eval/success, policy/latency_ms]: Optuna searches them together (multi-objective
    #   TPE), trials are ranked and scheduled (ASHA, PBT) by the first, and best/ comes from the Pareto front (README)
    mode: list[str] | str = "max"  # max or min; with a list of metrics, a list of one mode each
    search: str = "optuna"  # optuna (TPE), random, or grid (every grid_search/choice combination once)
    scheduler: str = "asha"  # asha (early-stops weak trials at eval rungs), pbt or pb2 (population-based training: a
    #   weak trial continues from a strong one's checkpoint with mutated hyperparameters; README "PBT"), or none
    num_samples: int = 8  # configs to sample: trials = num_samples x repeats (with grid_search: repeats of the grid)
    repeats: int = 1  # train each sampled config with this many seeds (seed, seed + 1, ...); configs are ranked by
    #   the mean over their seeds, with the spread reported; best/ is the best seed of the best config
    max_concurrent_trials: int = 0  # 0: as many as the cluster's CPUs/GPUs fit; otherwise at most this many
    grace_period: int = 0  # ASHA: steps before a trial can be stopped; 0: the first evaluation (eval_freq)
    reduction_factor: int = 2  # ASHA: keep the top 1/reduction_factor at each rung
    perturbation_interval: int = 0  # PBT/PB2: evaluated training steps between a trial's exploit/explore decisions;
    #   0: every evaluation (eval_freq)
    quantile_fraction: float = 0.25  # PBT/PB2: the bottom fraction of trials copies the top fraction (0 to 0.5)
    resample_probability: float = 0.25  # PBT: chance that a mutation redraws a value from the search space instead
    #   of scaling it by 0.8 or 1.2 (a choice: moving to a neighbouring value)
    max_failures: int = 1  # retries of a crashed trial (it resumes from its last checkpoint)
    seed: int = 0  # seed of the search algorithm
    tpe_startup_trials: int = 10  # optuna: trials TPE samples at random before it models the results (Optuna's default)
    storage_path: str = (
        "outputs/sweeps"  # where experiments live (local path, or s3://... / a shared mount on clusters)
    )
    experiment_name: str | None = None  # folder under storage_path; None: the search-space file's name
    resume: bool = False  # continue the experiment found in storage_path/experiment_name
    warm_start: str | None = None  # an earlier experiment (folder or URI): its trials' results seed Optuna's searcher
    baseline: bool = True  # also evaluate the base config's defaults on the same episodes, for comparison
    confirm_top_k: int = 3  # re-evaluate the best checkpoints of this many top trials (and the baseline's) on fresh
    #   episodes after the search; the winner is chosen by that confirmation. 0: no confirmation
    confirm_episodes: int = 50  # fresh episodes per confirmed candidate, at most (the same seeds for every one)
    confirm_stage_episodes: int = 10  # confirm in stages of this many episodes and stop once the winner is decided:
    #   the leader's paired interval against every other candidate above 0 and the one against the baseline
    #   excluding 0, each at 95 % / (comparisons x looks) (orchestrator/results/confirmation.py). 0: all at once
    confirm_seed: int = 1_000_000  # seed of the first confirmation episode (the range must not overlap eval.seed's)
    confirm_seeds: int = 0  # retrain the winner's config AND the default config with this many more seeds, confirm
    #   each seed on the same episodes, and compare the two configs over seeds (stratified bootstrap); best/ is then
    #   the winner config's median seed
    equivalence_margin: float = 0.1  # several objectives: a front member is "as good" on the first objective as
    #   the best one when their paired difference is shown within +-this margin (TOST), in the first objective's
    #   units (success: 0.1 = 10 points); only then may a later objective (latency) decide between them

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """[(metric, mode)]: one, or several (the first ranks the trials)."""
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        modes = self.mode if isinstance(self.mode, list) else [self.mode] * len(metrics)
        return list(zip(metrics, modes))

    @property
    def rank_metric(self) -> str:
        """The metric trials are ranked, scheduled and confirmed by: the only one, or the first objective."""
        return self.objectives[0][0]

    @property
    def rank_mode(self) -> str:
        return self.objectives[0][1]

    @property
    def multi_objective(self) -> bool:
        return isinstance(self.metric, list) and len(self.metric) > 1

    def problems(self) -> list[Problem]:
        out = self._objective_problems()
        out += one_of("search", self.search, ["optuna", "random", "grid"])
        out += one_of("scheduler", self.scheduler, ["asha", "pbt", "pb2", "none"])
        out += positive("num_samples", self.num_samples) + positive("repeats", self.repeats)
        out += non_negative("max_concurrent_trials", self.max_concurrent_trials)
        out += non_negative("grace_period", self.grace_period) + non_negative("max_failures", self.max_failures)
        out += positive("tpe_startup_trials", self.tpe_startup_trials)
        out += non_negative("confirm_top_k", self.confirm_top_k) + positive("confirm_episodes", self.confirm_episodes)
        out += non_negative("confirm_seed", self.confirm_seed) + non_negative("confirm_seeds", self.confirm_seeds)
        out += non_negative("confirm_stage_episodes", self.confirm_stage_episodes)
        if not self.equivalence_margin > 0:
            out.append(
                problem(
                    "equivalence_margin",
                    "must be > 0 (in the first objective's units, e.g. 0.1 for 10 points of success)",
                    self.equivalence_margin,
                )
            )
        out += non_negative("perturbation_interval", self.perturbation_interval)
        out += in_range("quantile_fraction", self.quantile_fraction, 0.0, 0.5)
        out += in_range("resample_probability", self.resample_probability, 0.0, 1.0)
        if self.reduction_factor < 2:
            out.append(problem("reduction_factor", "must be an integer >= 2", self.reduction_factor))
        return out

    def _objective_problems(self) -> list[Problem]:
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        if not metrics:
            return [problem("metric", f"must name at least one metric, of {list(OPTIMIZABLE)}", self.metric)]
        out = [p for m in metrics for p in one_of("metric", m, OPTIMIZABLE)]
        if len(set(metrics)) < len(metrics):
            out.append(problem("metric", "names a metric twice", self.metric))
        if isinstance(self.mode, list) and len(self.mode) != len(metrics):
            out.append(
                problem("mode", f"needs one mode per metric ({len(metrics)}: {metrics}), in the same order", self.mode)
            )
        elif isinstance(self.metric, list) and len(metrics) > 1 and not isinstance(self.mode, list):
            out.append(problem("mode", f"needs one mode per metric, e.g. [max, min] for {metrics}", self.mode))
        out += [
            p
            for m in (self.mode if isinstance(self.mode, list) else [self.mode])
            for p in one_of("mode", m, ["max", "min"])
        ]
        if len(metrics) > 1:  # Ray's Repeater averages one number, and a warm start tells Optuna one value per trial
            if self.repeats > 1:
                out.append(
                    problem("repeats", "must be 1 with several objectives (tune.metric is a list)", self.repeats)
                )
            if self.warm_start:
                out.append(problem("warm_start", "needs a single objective (tune.metric is a list)", self.warm_start))
        return out


@dataclass
class Sweep:
    """What a search-space file exports as `sweep`: a base config whose fields may hold distributions, and how to
    search it."""

    base: TrainPipelineConfig = field(default_factory=TrainPipelineConfig)  # fields may hold tune distributions
    tune: TuneConfig = field(default_factory=TuneConfig)  # how to search
    ties: dict[str, str] = field(
        default_factory=dict
    )  # {"policy.n_action_steps": "policy.chunk_size"}: copy after sampling
    defaults: dict[str, Any] = field(
        default_factory=dict
    )  # searched fields' values in the baseline; else dataclass defaults
    #   (a conditional space's baseline is its first type, or the one named by {"policy.type": ...})
    constraints: dict[str, Callable[[TrainPipelineConfig], bool]] = field(default_factory=dict)  # {name: predicate
    #   on the sampled, typed config}: a sample that breaks one is not trained and is reported as infeasible
