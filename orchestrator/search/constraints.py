"""Constraints between fields of a sampled config: `Sweep(constraints={name: predicate})`.

    constraints={"n_action_steps <= chunk_size":
                 lambda cfg: cfg.policy.type != "act" or cfg.policy.n_action_steps <= cfg.policy.chunk_size}

Each predicate gets the typed, validated TrainPipelineConfig of a sample and returns True when the sample is
allowed. A sample that breaks one is not trained: its trial reports once `infeasible: True` with the names of the
constraints it broke, and ends (trainables/trial.py). Schedulers ignore that report (it has no metric), the report
and the live table label the trial "infeasible" (neither an error nor stopped early), and it never becomes a
candidate for best/. Optuna is told the way Optuna 5 expresses infeasibility: the trial's constraint values
(`Trial.set_constraint`, 1 per broken constraint), so TPE ranks it below every feasible trial and learns to avoid
the region, instead of ignoring it as a failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import Problem, UserError, problem
from orchestrator.metrics import INFEASIBLE, VIOLATED
from orchestrator.search.conditional import is_conditional, sample_point
from orchestrator.search.optuna_glue import asked_trials, study, told_trials
from orchestrator.search.space import from_sample, has_grid

Constraints = dict[str, Callable[[TrainPipelineConfig], bool]]


def constraint_problems(constraints: Any) -> list[Problem]:
    """The shape of `Sweep.constraints`: a dict of names to one-argument callables."""
    if not isinstance(constraints, dict):
        return [problem("constraints", "must be a dict {name: predicate(cfg) -> bool}", type(constraints).__name__)]
    return [
        problem(f"constraints[{name!r}]", "must be a function of the sampled config returning True when it is allowed")
        for name, fn in constraints.items()
        if not callable(fn) or not isinstance(name, str)
    ]


def violated(constraints: Constraints, cfg: TrainPipelineConfig) -> list[str]:
    """The names of the constraints `cfg` breaks, in order. A predicate that raises is the search-space file's
    error: a UserError naming the constraint."""
    out = []
    for name, predicate in constraints.items():
        try:
            ok = predicate(cfg)
        except Exception as e:  # noqa: BLE001  (the user's predicate: report which one, and why)
            raise UserError(
                problem(f"constraints[{name!r}]", f"failed on a sampled config: {type(e).__name__}: {e}"),
                "invalid search space",
            ) from None
        if not ok:
            out.append(name)
    return out


def pass_counts(constraints: Constraints, configs: list[TrainPipelineConfig]) -> tuple[dict[str, int], int]:
    """({constraint: how many of `configs` pass it}, how many pass all)."""
    counts = dict.fromkeys(constraints, 0)
    every = 0
    for cfg in configs:
        broken = violated(constraints, cfg)
        for name in constraints:
            counts[name] += name not in broken
        every += not broken
    return counts, every


def tell_infeasible(searcher, trial_id: str, result: dict | None) -> bool:
    """OptunaSearch: a trial that reported `infeasible` is told to the study as pruned with its constraint values
    (1.0 for each broken constraint), which TPE ranks below every feasible trial. True when handled."""
    if not result or not result.get(INFEASIBLE) or trial_id in told_trials(searcher):
        return False
    import optuna

    ot_trial = asked_trials(searcher)[trial_id]
    for name in result.get(VIOLATED) or ["constraint"]:
        ot_trial.set_constraint(str(name), 1.0)
    study(searcher).tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
    told_trials(searcher).add(trial_id)
    return True


def sample_configs(prepared, n: int, seed: int) -> list[tuple[dict, TrainPipelineConfig | UserError]]:
    """`n` random points of the prepared sweep's space and each one's config, typed but not validated (or the error
    building it)."""
    rng = random.Random(seed)
    out: list[tuple[dict, TrainPipelineConfig | UserError]] = []
    for _ in range(n):
        point = sample_point(prepared.space, rng)
        try:
            out.append((point, from_sample(prepared.base, point, prepared.overrides, prepared.ties, validate=False)))
        except UserError as e:
            out.append((point, e))
    return out


def search_problems(t, space: dict[str, Any], default_cfg: TrainPipelineConfig, constraints: Any) -> list[Problem]:
    """What the sweep's searcher cannot do with this space, constraints and repeats; checked before Ray."""
    out = constraint_problems(constraints)
    if not out and constraints and t.baseline:
        broken = violated(constraints, default_cfg)
        if broken:
            out.append(
                problem(
                    f"constraints[{broken[0]!r}]",
                    "the baseline (the base config with its defaults) breaks "
                    "it: change Sweep.defaults, or --tune.baseline=false",
                )
            )
    if is_conditional(space) and t.search == "grid":
        out.append(
            problem(
                "tune.search",
                "a space that searches config types (policy.type) is sampled by optuna or "
                "random, not enumerated as a grid",
                t.search,
            )
        )
    if t.repeats > 1 and t.search == "random" and has_grid(space):
        out.append(
            problem(
                "tune.search",
                "random search with --tune.repeats samples through Optuna, which cannot run "
                "grid_search: use --tune.search=grid, or tune.choice",
                t.search,
            )
        )
    if t.repeats > 1 and t.search == "grid" and t.num_samples > 1:
        out.append(
            problem(
                "tune.num_samples",
                "with --tune.search=grid, --tune.repeats replaces repeating the grid: set num_samples=1",
                t.num_samples,
            )
        )
    return out
