"""The search algorithm and the trial scheduler a sweep builds from its TuneConfig: the decision code, in one home.

`search_algorithm` and `trial_scheduler` are what `Tuner` receives (orchestrator/sweep/tuner.py), and what the tabulated
benchmark's replay drives directly (benchmarks/tabular/replay.py), so both judge the same objects with the same settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray.tune.result import TRAINING_ITERATION
from ray.tune.search import BasicVariantGenerator

from orchestrator import terminal
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import TuneConfig
from orchestrator.metrics import EVAL_STEP, STEP
from orchestrator.search.conditional import DefineByRun, is_conditional
from orchestrator.search.constraints import tell_infeasible
from orchestrator.search.optuna_glue import asked_trials, intermediate_values
from orchestrator.search.pbt import is_population
from orchestrator.search.pbt import make_scheduler as make_population_scheduler
from orchestrator.search.repeats import Repeats
from orchestrator.search.space import has_grid
from orchestrator.search.untried import SuggestsUntried
from orchestrator.search.warm_start import WarmStart


def search_algorithm(
    t: TuneConfig,
    max_concurrent: int,
    space: dict | None = None,
    warm: WarmStart | None = None,
    study: str | None = None,
):
    """`study`: a file that keeps the Optuna study (Optuna's JournalStorage), so optuna-dashboard can open it and it
    resumes with the sweep; None keeps it in memory (a replay, a test)."""
    space = space or {}
    # Random search goes through Optuna's RandomSampler, which the searcher below keeps from training a config twice
    # (Tune's BasicVariantGenerator draws with replacement: in a discrete space it repeats configs). Two cases stay
    # with Tune's generator: a space with grid_search values (the grid enumerated, the rest drawn around it), and
    # PBT/PB2, which Tune runs only with its own generator (its population explores by mutation, not by sampling).
    if t.search == "optuna" or (t.search == "random" and not has_grid(space) and not is_population(t.scheduler)):
        import optuna

        if not terminal.verbose():
            optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created in memory ..."
        sampler = (
            optuna.samplers.TPESampler(seed=t.seed, n_startup_trials=t.tpe_startup_trials)
            if t.search == "optuna"
            else optuna.samplers.RandomSampler(seed=t.seed)
        )
        if warm:
            terminal.say(
                f"warm start: {len(warm.points)} trials of {warm.source} told to Optuna"
                + (f" ({warm.skipped} without a result or outside this space left out)" if warm.skipped else "")
                + f"; {len(warm.evaluated)} configs of them ran exactly as here (config and seed) and are not "
                "trained again"
            )
        # Several objectives: Optuna's multi-objective TPE over all of them (a study with one direction each).
        metric, mode = (
            ([m for m, _ in t.objectives], [d for _, d in t.objectives])
            if t.multi_objective
            else (t.rank_metric, t.rank_mode)
        )
        kept = {"storage": journal(study), "study_name": t.experiment_name or "sweep"} if study else {}
        searcher = (
            OptunaOnEvaluations(space=DefineByRun(space), metric=metric, mode=mode, sampler=sampler, **kept)
            if is_conditional(space)
            else OptunaOnEvaluations(
                sampler=sampler,
                metric=metric,
                mode=mode,
                points_to_evaluate=warm.points if warm else None,
                evaluated_rewards=warm.rewards if warm else None,
                evaluated=warm.evaluated if warm else None,
                **kept,
            )
        )
        return Repeats(searcher, t.repeats) if t.repeats > 1 else searcher
    return BasicVariantGenerator(random_state=t.seed, max_concurrent=max_concurrent)


def journal(path: str):
    """Optuna's JournalStorage in the file `path` (its folder created): an append-only log of the study, which
    `optuna-dashboard <path>` opens."""
    from pathlib import Path

    from optuna.storages.journal import JournalFileBackend, JournalStorage

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def _optuna_search_class():
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch


if TYPE_CHECKING:
    from ray.tune.search.optuna import OptunaSearch as _OptunaSearch
else:
    _OptunaSearch = _optuna_search_class()


class OptunaOnEvaluations(SuggestsUntried, _OptunaSearch):
    """OptunaSearch that only sees reports carrying the metric: evaluations finish asynchronously, so most reports
    (train metrics, checkpoints) have none, and OptunaSearch would fail on them. It suggests each config once
    (orchestrator/search/untried.py)."""

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        if isinstance(self.metric, list):  # keep every objective; Tune passes only the schedulers' (the first)
            metric, mode = None, None
        return super().set_search_properties(metric, mode, config, **spec)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if isinstance(self.metric, list) or self.metric not in result:  # (no pruning with several objectives)
            return
        # Optuna keys a trial's intermediate values by step, once each. Tune's training_iteration starts again when a
        # trial is resumed or retried, and a resumed run reports its last steps again: key by our step, and pass
        # over a step already told (Optuna would warn that it ignores it).
        ot_trial = asked_trials(self).get(trial_id)
        step = int(result.get(STEP, result.get(TRAINING_ITERATION, 0)))
        if ot_trial is None or step in intermediate_values(ot_trial):
            return
        super().on_trial_result(trial_id, {**result, TRAINING_ITERATION: step})

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if not tell_infeasible(self, trial_id, result):  # a broken constraint: infeasible, not failed
            super().on_trial_complete(trial_id, result, error)


def trial_scheduler(t: TuneConfig, cfg: TrainPipelineConfig, space: dict | None = None):
    if t.scheduler == "none" or not cfg.evaluates:
        return None
    if is_population(t.scheduler):
        return make_population_scheduler(t, cfg, space or {})
    from ray.tune.schedulers import ASHAScheduler

    # Rungs are counted in evaluated training steps (our own counter survives trial retries; Tune's does not).
    return ASHAScheduler(
        time_attr=EVAL_STEP,
        max_t=cfg.steps,
        grace_period=t.grace_period or cfg.eval_freq,
        reduction_factor=t.reduction_factor,
    )
