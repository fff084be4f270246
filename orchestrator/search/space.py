"""Config dataclasses <-> Ray Tune search spaces.

A search-space base is a normal `TrainPipelineConfig` whose fields may hold Ray Tune distributions
(`tune.loguniform(...)`, `tune.choice([...])`, `tune.grid_search([...])`, ...). `to_param_space` lifts them out into
a flat Tune `param_space` keyed by dotted field name, leaving a plain base dict; `from_sample` puts one sampled
point back and returns a typed, validated config. The pair round-trips: `from_sample(base, sample)` of a sample
drawn from `to_param_space(cfg)` sets exactly the sampled fields.

A choice field may also be searched over config types, each with its own sub-space
(`policy=tune.choice([ACTConfig(...), DiffusionConfig(...)])`): see orchestrator/search/conditional.py. A sample may carry
the repeat index of `--tune.repeats` (orchestrator/search/repeats.py): the trial trains with seed + index.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

from ray.tune.search.sample import Categorical, Domain, Float, Integer

from orchestrator.configs.fields import check_value, field_types, value_at
from orchestrator.configs.parsing import BRANCHES, build_config, encode, flatten, unflatten
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import Problem, UserError, problem, raise_if
from orchestrator.results.seeds import split_repeat_keys
from orchestrator.search import conditional


def is_distribution(value: Any) -> bool:
    return isinstance(value, Domain) or (isinstance(value, dict) and set(value) == {"grid_search"})


def has_grid(space: dict[str, Any]) -> bool:
    """Whether a param space holds a `tune.grid_search` (a dict among its values), which Optuna cannot sample."""
    return any(isinstance(d, dict) for d in space.values())


def to_param_space(base: TrainPipelineConfig) -> tuple[dict[str, Any], dict]:
    """(param_space {dotted field: distribution}, base as a plain dict with each distribution's field left at the
    dataclass default)."""
    space: dict[str, Any] = {}
    branches: dict[str, dict] = {}
    stripped = copy.deepcopy(base)
    _lift(stripped, "", space, branches)
    plain = encode(stripped)
    if branches:
        plain[BRANCHES] = branches
    return space, plain


def _lift(obj: Any, prefix: str, space: dict[str, Any], branches: dict[str, dict] | None = None) -> None:
    """Move the distributions of dataclass `obj` (in place, recursively) into `space`; a choice between configs
    becomes a conditional sub-space (its types' configs go to `branches`)."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        dotted = f"{prefix}{f.name}"
        if conditional.is_branch_choice(value):
            if branches is None:  # inside one type's sub-space
                raise UserError(
                    problem(dotted, "a type's sub-space cannot hold another choice between configs"),
                    "invalid search space",
                )
            setattr(obj, f.name, conditional.lift_branches(dotted, value, space, branches, _lift))
        elif is_distribution(value):
            space[dotted] = value
            setattr(obj, f.name, _default_of(f))
        elif dataclasses.is_dataclass(value):
            _lift(value, dotted + ".", space, branches)


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def from_sample(
    base: dict,
    sample: dict[str, Any],
    overrides: dict | None = None,
    ties: dict[str, str] | None = None,
    validate: bool = True,
) -> TrainPipelineConfig:
    """One sampled point (flat dotted keys, as Tune hands it to a trial) -> a typed, validated config.
    `overrides` (nested, from the CLI) win over the sample; `ties` copy one field's final value to another.
    A conditional field takes the sampled type's config; a repeat index (`__trial_index__`) adds to the seed.
    `validate=False`: typed but not validated (constraints are checked first: a sample they reject is infeasible,
    not invalid)."""
    sample, index, _ = split_repeat_keys(sample)
    base, sample = conditional.resolve(base, sample)
    sample_layer = unflatten(dict(sample))
    layers = [sample_layer, overrides or {}]
    for target, source in (ties or {}).items():
        value = value_at(build_config(base, layers, validate=False), source)
        layers.append(unflatten({target: value}))
    cfg = build_config(base, layers, validate=False)
    if index:  # --tune.repeats: the same config with seed, seed + 1, ...
        cfg.seed += index
    return cfg.validate() if validate else cfg


def candidate_values(dist: Any) -> list[Any]:
    """Values that show whether a distribution fits its field: every category, or both bounds."""
    if isinstance(dist, dict):
        return list(dist["grid_search"])
    if isinstance(dist, Categorical):
        return list(dist.categories)
    if isinstance(dist, Integer):
        return [dist.lower, dist.upper - 1]
    if isinstance(dist, Float):
        return [float(dist.lower), float(dist.upper)]
    return []


def check_space(space: dict[str, Any], base_cfg: TrainPipelineConfig) -> list[Problem]:
    """Every problem with the distributions, before any trial starts: bad bounds, values of the wrong type."""
    out: list[Problem] = []
    for dotted, dist in space.items():
        if dotted.split(".")[-1] == "type":
            if not _is_type_choice(base_cfg, dotted):
                out.append(
                    problem(
                        dotted,
                        "cannot be searched as a value: write tune.choice([ACTConfig(...), "
                        "DiffusionConfig(...)]) for the section, each config with its own sub-space",
                    )
                )
            continue
        out += _bounds_problems(dotted, dist)
        ftype = _type_at(base_cfg, dotted)
        for value in candidate_values(dist):
            leaf = check_value(dotted, value, ftype)
            if leaf:
                out.append(problem(dotted, f"search values must fit the field: {leaf[0].message}", value))
                break
    return out


def _bounds_problems(dotted: str, dist: Any) -> list[Problem]:
    if isinstance(dist, (Float, Integer)):
        lo, hi = dist.lower, dist.upper
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            return [problem(dotted, "distribution needs finite bounds with lower < upper", (lo, hi))]
    if isinstance(dist, Categorical) and not dist.categories:
        return [problem(dotted, "choice needs at least one value", [])]
    if isinstance(dist, dict) and not dist["grid_search"]:
        return [problem(dotted, "grid_search needs at least one value", [])]
    return []


def _type_at(cfg: Any, dotted: str) -> Any:
    """The declared type of a dotted field, following the concrete classes the base config chose."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        cfg = _child(cfg, part)
    return field_types(type(cfg))[leaf]


def _child(cfg: Any, part: str) -> Any:
    """A section of `cfg`; in a choice between configs, `part` names the type (policy.act.dim_model)."""
    if isinstance(cfg, Categorical):
        return next(c for c in cfg.categories if getattr(c, "type", None) == part)
    return getattr(cfg, part)


def _is_type_choice(cfg: Any, dotted: str) -> bool:
    *parents, _ = dotted.split(".")
    try:
        for part in parents:
            cfg = _child(cfg, part)
    except (AttributeError, StopIteration):
        return False
    return isinstance(cfg, Categorical) and conditional.is_branch_choice(cfg)


def split_space(base_cfg: TrainPipelineConfig, overrides: dict) -> tuple[dict[str, Any], dict]:
    """Lift the space out of `base_cfg`, drop distributions fixed by `overrides`, and check what is left (a
    conditional space's types are checked whole, before `--policy.type=...` picks one)."""
    space, base = to_param_space(base_cfg)
    fixed = flatten(overrides)
    raise_if(check_space({k: v for k, v in space.items() if k not in fixed}, base_cfg), "invalid search space")
    space, base = conditional.collapse(space, base, fixed)
    return {k: v for k, v in space.items() if k not in fixed}, base


def describe(dist: Any) -> str:
    """A distribution in words, for reports and model cards: `loguniform(0.0001, 0.003)`, `choice([10, 20])`."""
    if isinstance(dist, dict):
        return f"grid_search({dist['grid_search']})"
    if isinstance(dist, Categorical):
        return f"choice({list(dist.categories)})"
    if isinstance(dist, (Float, Integer)):
        sampler = type(dist.get_sampler()).__name__.lstrip("_").lower()  # uniform, loguniform, normal, quantized
        if isinstance(dist, Integer):
            sampler = {"uniform": "randint", "loguniform": "lograndint"}.get(sampler, sampler)
        return f"{sampler}({dist.lower}, {dist.upper})"
    return repr(dist)
