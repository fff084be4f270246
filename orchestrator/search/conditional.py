"""Conditional search spaces: sweep a choice field (`policy`, `env`, ...) over several config types, each with its
own sub-space.

    policy=tune.choice([
        ACTConfig(dim_model=tune.choice([64, 128]), chunk_size=tune.choice([10, 20])),
        DiffusionConfig(horizon=tune.choice([8, 16])),
    ])

lifts into a flat space whose names say which type a field belongs to:

    policy.type             choice(['act', 'diffusion'])
    policy.act.dim_model    choice([64, 128])        (sampled only when policy.type == act)
    policy.act.chunk_size   choice([10, 20])
    policy.diffusion.horizon choice([8, 16])          (only when policy.type == diffusion)

Each type's config (with its fixed values: a small U-Net, a crop, ...) is kept, encoded, under the base's BRANCHES
key; `resolve` puts the chosen type's config under the field and renames its sampled fields back, so a trial still
becomes one typed, validated TrainPipelineConfig (space.from_sample). Optuna samples such a space define-by-run
(only the chosen type's fields are suggested: TPE models each field from the trials that had it); `sample_point`
does the same for the dry run.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from typing import Any

from ray.tune.search.sample import Categorical, Domain

from orchestrator.configs.parsing import BRANCHES, encode, merge, unflatten
from orchestrator.errors import UserError, problem


def is_branch_choice(value: Any) -> bool:
    """A `tune.choice` (or grid_search) whose values are config dataclasses: a conditional space."""
    values = (
        value.categories
        if isinstance(value, Categorical)
        else value["grid_search"]
        if isinstance(value, dict) and set(value) == {"grid_search"}
        else None
    )
    if not values:
        return False
    return any(dataclasses.is_dataclass(v) for v in values)


def lift_branches(dotted: str, value: Any, space: dict[str, Any], branches: dict[str, dict], lift) -> Any:
    """Lift the choice of configs at `dotted` into `space` (`<dotted>.type` and `<dotted>.<type>.<field>` entries) and
    `branches[dotted]` ({type: encoded config}); `lift(obj, prefix, space)` lifts one config's own distributions.
    Returns the first type's config (its distributions at their defaults): the field's value in the baseline."""
    if not isinstance(value, Categorical):
        raise UserError(
            problem(
                dotted,
                "a choice between config types is sampled with tune.choice([...]), not "
                "grid_search (use --tune.search=optuna or random)",
            ),
            "invalid search space",
        )
    configs = list(value.categories)
    if not all(dataclasses.is_dataclass(c) and hasattr(c, "type") for c in configs):
        raise UserError(
            problem(
                dotted,
                "tune.choice over configs needs every value to be a config of a registered "
                "type (ACTConfig(...), DiffusionConfig(...), ...)",
            ),
            "invalid search space",
        )
    types = [c.type for c in configs]
    if len(set(types)) != len(types):
        raise UserError(
            problem(
                dotted,
                "each config type may appear once in the choice (put its alternatives in "
                "its own fields' distributions)",
                types,
            ),
            "invalid search space",
        )
    space[f"{dotted}.type"] = Categorical(types).uniform()  # first: read before the types' own fields
    first = None
    for config in configs:
        stripped = copy.deepcopy(config)
        sub: dict[str, Any] = {}
        lift(stripped, f"{dotted}.{config.type}.", sub)
        if any(k.endswith(".type") for k in sub):
            raise UserError(
                problem(dotted, "a conditional space cannot hold another choice of configs"), "invalid search space"
            )
        space.update(sub)
        branches.setdefault(dotted, {})[config.type] = encode(stripped)
        first = first or stripped
    return first


def is_conditional(space: dict[str, Any]) -> bool:
    return any(condition_of(space, k) for k in space)


def condition_of(space: dict[str, Any], key: str) -> tuple[str, str] | None:
    """(the type key, the type) under which `key` is sampled, e.g. ("policy.type", "act") for policy.act.dim_model;
    None for an unconditional key."""
    parts = key.split(".")
    for i in range(1, len(parts) - 1):
        type_key = ".".join(parts[:i]) + ".type"
        dist = space.get(type_key)
        if isinstance(dist, Categorical) and parts[i] in dist.categories:
            return type_key, parts[i]
    return None


def _ordered(space: dict[str, Any]) -> list[str]:
    """Type keys first, so a conditional key can see its type."""
    return sorted(space, key=lambda k: condition_of(space, k) is not None)


def _active(space: dict[str, Any], key: str, point: dict[str, Any]) -> bool:
    cond = condition_of(space, key)
    return cond is None or point.get(cond[0]) == cond[1]


def sample_point(space: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One random point: grid_search values and distributions alike are drawn; a type's fields only when that type
    was drawn."""
    point: dict[str, Any] = {}
    for key in _ordered(space):
        if not _active(space, key, point):
            continue
        dist = space[key]
        point[key] = (
            rng.choice(list(dist["grid_search"]))
            if isinstance(dist, dict)
            else dist.sample(random_state=rng.randrange(2**31))
        )
    return point


class DefineByRun:
    """Optuna's define-by-run space for OptunaSearch(space=...): suggests the type first, then only that type's
    fields, under their dotted names. A class (not a closure) so that Tune can pickle the searcher's state."""

    def __init__(self, space: dict[str, Domain]):
        from ray.tune.search.optuna import OptunaSearch

        self.order = _ordered(space)
        self.space = space
        self.optuna = {k: OptunaSearch.convert_search_space({k: d})[k] for k, d in space.items()}

    def __call__(self, trial) -> None:
        import optuna

        point: dict[str, Any] = {}
        for key in self.order:
            if not _active(self.space, key, point):
                continue
            d = self.optuna[key]
            if isinstance(d, optuna.distributions.CategoricalDistribution):
                point[key] = trial.suggest_categorical(key, d.choices)
            elif isinstance(d, optuna.distributions.IntDistribution):
                point[key] = trial.suggest_int(key, d.low, d.high, step=d.step, log=d.log)
            else:
                point[key] = trial.suggest_float(key, d.low, d.high, step=d.step, log=d.log)
        return None


def resolve(base: dict, sample: dict[str, Any]) -> tuple[dict, dict[str, Any]]:
    """(base, sample) with each conditional field's chosen type in place: its config under the field (unless the base
    already holds that type, with the baseline's defaults) and its sampled fields renamed to the field's own
    (`policy.act.dim_model` -> `policy.dim_model`); the other types' fields dropped."""
    branches = base.get(BRANCHES)
    if not branches:
        return base, sample
    base, sample = dict(base), dict(sample)
    for field, configs in branches.items():
        node = _get(base, field)
        chosen = sample.pop(f"{field}.type", None) or node.get("type")
        if chosen not in configs:
            raise UserError(problem(f"{field}.type", f"not one of the searched types {sorted(configs)}", chosen))
        if node.get("type") != chosen:
            base = _set(base, field, copy.deepcopy(configs[chosen]))
        for key in [k for k in sample if k.startswith(f"{field}.")]:
            rest = key[len(field) + 1 :]
            kind, _, leaf = rest.partition(".")
            if kind in configs and leaf:
                value = sample.pop(key)
                if kind == chosen:
                    sample[f"{field}.{leaf}"] = value
    return base, sample


def collapse(space: dict[str, Any], base: dict, fixed: dict[str, Any]) -> tuple[dict[str, Any], dict]:
    """CLI flags over a conditional space: `--policy.type=act` keeps only ACT's sub-space (renamed to plain fields);
    `--policy.dim_model=64` fixes that field in every type that searches it."""
    branches = base.get(BRANCHES)
    if not branches:
        return space, base
    base, branches = dict(base), copy.deepcopy(branches)
    for field in list(branches):
        if f"{field}.path" in fixed:
            raise UserError(
                problem(
                    f"{field}.path",
                    f"fixes {field}; this search space samples {field}.type among "
                    f"{sorted(branches[field])}: fine-tune with a file that searches one type",
                ),
                "invalid search space",
            )
        chosen = fixed.get(f"{field}.type")
        space = {
            k: v
            for k, v in space.items()
            if not (
                (condition := condition_of(space, k))
                and condition[0] == f"{field}.type"
                and f"{field}.{k[len(field) + 1 :].partition('.')[2]}" in fixed
            )
        }
        if chosen is None:
            continue
        if chosen not in branches[field]:
            continue  # an unknown or unsearched type: building the config names the problem
        renamed = {}
        for k, v in space.items():
            cond = condition_of(space, k)
            if cond and cond[0] == f"{field}.type":
                if cond[1] == chosen:
                    renamed[f"{field}.{k[len(field) + 1 :].partition('.')[2]}"] = v
            elif k != f"{field}.type":
                renamed[k] = v
        space = renamed
        base = _set(base, field, branches.pop(field)[chosen])
    base[BRANCHES] = branches
    if not branches:
        base.pop(BRANCHES)
    return space, base


def with_defaults(base: dict, defaults: dict[str, Any], cls: type) -> dict:
    """The baseline's base: `defaults` merged over `base`; a default type of a conditional field
    (`{"policy.type": "diffusion"}`) brings that type's config from the search space first."""
    branches = base.get(BRANCHES) or {}
    defaults = dict(defaults)
    for field, configs in branches.items():
        chosen = defaults.pop(f"{field}.type", None)
        if chosen is not None:
            if chosen not in configs:
                raise UserError(
                    problem(
                        f"defaults[{field + '.type'!r}]", f"not one of the searched types {sorted(configs)}", chosen
                    ),
                    "invalid search space",
                )
            base = _set(base, field, copy.deepcopy(configs[chosen]))
    return merge(base, unflatten(defaults), cls) if defaults else base


def _get(data: dict, dotted: str) -> dict:
    for part in dotted.split("."):
        data = data[part]
    return data


def _set(data: dict, dotted: str, value: Any) -> dict:
    """A copy of `data` with the nested `dotted` entry replaced (the parents copied, the rest shared)."""
    head, _, rest = dotted.partition(".")
    out = dict(data)
    out[head] = _set(data[head], rest, value) if rest else value
    return out
