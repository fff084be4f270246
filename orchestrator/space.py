"""Config dataclasses <-> Ray Tune search spaces.

A search-space base is a normal `TrainPipelineConfig` whose fields may hold Ray Tune distributions
(`tune.loguniform(...)`, `tune.choice([...])`, `tune.grid_search([...])`, ...). `to_param_space` lifts them out into
a flat Tune `param_space` keyed by dotted field name, leaving a plain base dict; `from_sample` puts one sampled
point back and returns a typed, validated config. The pair round-trips: `from_sample(base, sample)` of a sample
drawn from `to_param_space(cfg)` sets exactly the sampled fields.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

from ray.tune.search.sample import Categorical, Domain, Float, Integer

from orchestrator.configs.parsing import _check_leaf, _field_types, build_config, encode, flatten, unflatten
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import Problem, problem, raise_if


def is_distribution(value: Any) -> bool:
    return isinstance(value, Domain) or (isinstance(value, dict) and set(value) == {"grid_search"})


def to_param_space(base: TrainPipelineConfig) -> tuple[dict[str, Any], dict]:
    """(param_space {dotted field: distribution}, base as a plain dict with each distribution's field left at the
    dataclass default)."""
    space: dict[str, Any] = {}
    stripped = copy.deepcopy(base)
    _lift(stripped, "", space)
    return space, encode(stripped)


def _lift(obj: Any, prefix: str, space: dict[str, Any]) -> None:
    """Move the distributions of dataclass `obj` (in place, recursively) into `space`."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        dotted = f"{prefix}{f.name}"
        if is_distribution(value):
            space[dotted] = value
            setattr(obj, f.name, _default_of(f))
        elif dataclasses.is_dataclass(value):
            _lift(value, dotted + ".", space)


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def from_sample(base: dict, sample: dict[str, Any], overrides: dict | None = None,
                ties: dict[str, str] | None = None) -> TrainPipelineConfig:
    """One sampled point (flat dotted keys, as Tune hands it to a trial) -> a typed, validated config.
    `overrides` (nested, from the CLI) win over the sample; `ties` copy one field's final value to another."""
    sample_layer = unflatten(dict(sample))
    layers = [sample_layer, overrides or {}]
    for target, source in (ties or {}).items():
        value = _lookup(build_config(base, layers, validate=False), source)
        layers.append(unflatten({target: value}))
    return build_config(base, layers)


def _lookup(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


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
            out.append(problem(dotted, "cannot be searched: sweep the fields of one policy/env type at a time"))
            continue
        out += _bounds_problems(dotted, dist)
        ftype = _type_at(base_cfg, dotted)
        for value in candidate_values(dist):
            leaf = _check_leaf(dotted, value, ftype)
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
        cfg = getattr(cfg, part)
    return _field_types(type(cfg))[leaf]


def split_space(base_cfg: TrainPipelineConfig, overrides: dict) -> tuple[dict[str, Any], dict]:
    """Lift the space out of `base_cfg`, drop distributions fixed by `overrides`, and check what is left."""
    space, base = to_param_space(base_cfg)
    fixed = set(flatten(overrides))
    space = {k: v for k, v in space.items() if k not in fixed}
    raise_if(check_space(space, base_cfg), "invalid search space")
    return space, base


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
