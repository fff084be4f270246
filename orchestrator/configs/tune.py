"""How a sweep searches: metric, search algorithm, scheduler, budget, storage. Settable as --tune.<field>."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.configs.checks import non_negative, one_of, positive
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import Problem, problem

# Every metric a trial reports (trainables/train_loop.py); a sweep may optimize any numeric one.
REPORTED_METRICS = (
    "train/loss", "train/grad_norm", "train/lr", "train/samples_per_s", "train/update_s", "train/data_s",
    "eval/success", "eval/avg_sum_reward", "eval/avg_max_reward", "eval/n_episodes", "eval/eval_s", "eval/step",
    "val/loss", "step", "epoch",
)


@dataclass
class TuneConfig:
    """Ray Tune settings of a sweep."""

    metric: str = "eval/success"  # the reported metric to optimize (one of REPORTED_METRICS)
    mode: str = "max"  # max or min
    search: str = "optuna"  # optuna (TPE), random, or grid (every grid_search/choice combination once)
    scheduler: str = "asha"  # asha (early-stops weak trials at eval rungs) or none
    num_samples: int = 8  # trials to run (with grid_search: repeats of the grid)
    max_concurrent_trials: int = 0  # 0: as many as the cluster's CPUs/GPUs fit; otherwise at most this many
    grace_period: int = 0  # ASHA: steps before a trial can be stopped; 0: the first evaluation (eval_freq)
    reduction_factor: int = 2  # ASHA: keep the top 1/reduction_factor at each rung
    max_failures: int = 1  # retries of a crashed trial (it resumes from its last checkpoint)
    seed: int = 0  # seed of the search algorithm
    storage_path: str = "outputs/sweeps"  # where experiments live (local path, or s3://... / a shared mount on clusters)
    experiment_name: str | None = None  # folder under storage_path; None: the search-space file's name
    resume: bool = False  # continue the experiment found in storage_path/experiment_name
    baseline: bool = True  # also evaluate the base config's defaults on the same episodes, for comparison

    def problems(self) -> list[Problem]:
        out = one_of("metric", self.metric, REPORTED_METRICS) + one_of("mode", self.mode, ["max", "min"])
        out += one_of("search", self.search, ["optuna", "random", "grid"]) + one_of("scheduler", self.scheduler, ["asha", "none"])
        out += positive("num_samples", self.num_samples) + non_negative("max_concurrent_trials", self.max_concurrent_trials)
        out += non_negative("grace_period", self.grace_period) + non_negative("max_failures", self.max_failures)
        if self.reduction_factor < 2:
            out.append(problem("reduction_factor", "must be an integer >= 2", self.reduction_factor))
        return out


@dataclass
class Sweep:
    """What a search-space file exports as `sweep`: a base config whose fields may hold distributions, and how to
    search it."""

    base: TrainPipelineConfig = field(default_factory=TrainPipelineConfig)  # fields may hold tune distributions
    tune: TuneConfig = field(default_factory=TuneConfig)  # how to search
    ties: dict[str, str] = field(default_factory=dict)  # {"policy.n_action_steps": "policy.chunk_size"}: copy after sampling
    defaults: dict[str, Any] = field(default_factory=dict)  # searched fields' values in the baseline; else dataclass defaults
