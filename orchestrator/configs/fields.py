"""What a config dataclass declares: each field's type, which fields are sections (nested configs) and which of those
are choice registries (`policy`, `env`, ...), and whether a value fits a field. Parsing, the search space and `--help`
read the config tree through these."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, TypeGuard

import draccus

from orchestrator.errors import Problem, problem


def check_value(dotted: str, value: Any, ftype: Any) -> list[Problem]:
    """The problem (none, or one) with `value` for a field of type `ftype` (not a section) named `dotted`: it must
    decode as that type, a boolean is no number, and numbers are finite."""
    base = _strip_optional(ftype)
    if base in (int, float) and isinstance(value, bool):
        return [problem(dotted, f"must be {'an integer' if base is int else 'a number'}, not a boolean", value)]
    try:
        decoded = draccus.decode(ftype, value)
    except Exception:  # noqa: BLE001  (draccus raises several error types; all mean "bad value")
        return [problem(dotted, f"cannot be read as {_type_name(ftype)}", value)]
    if not _all_finite(decoded):
        return [problem(dotted, "must be finite (not NaN or infinite)", value)]
    return []


def _all_finite(value: Any) -> bool:
    """No NaN or infinity in a decoded value (a number, or numbers inside lists, tuples and dicts)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_all_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    return True


def _type_name(ftype: Any) -> str:
    base = _strip_optional(ftype)
    name = {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(base)
    name = name or getattr(base, "__name__", None) or str(base).replace("typing.", "")
    return f"{name} or null" if base is not ftype else name


def _strip_optional(ftype: Any) -> Any:
    args = typing.get_args(ftype)
    if type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return ftype


def section_class(ftype: Any) -> type | None:
    """The config dataclass a field of type `ftype` holds (`X` or `X | None`), or None for a value field."""
    inner = _strip_optional(ftype)
    return inner if isinstance(inner, type) and dataclasses.is_dataclass(inner) else None


def is_choice(cls: type) -> TypeGuard[type[draccus.ChoiceRegistry]]:
    """Whether `cls` is the base of a choice registry (PolicyConfig, EnvConfig, ...), whose `type` picks a class."""
    return issubclass(cls, draccus.ChoiceRegistry) and "_choice_registry" in vars(cls)


def choice_class(cls: type[draccus.ChoiceRegistry], name: Any) -> type | None:
    """The class registered as `name` in registry `cls`, or None when no class is."""
    return cls.get_known_choices().get(name) if isinstance(name, str) else None


_TYPES_CACHE: dict[type, dict[str, Any]] = {}


def field_types(cls: type) -> dict[str, Any]:
    """{field name: its type, annotations resolved} of dataclass `cls` (cached per class)."""
    if cls not in _TYPES_CACHE:
        hints = typing.get_type_hints(cls)
        _TYPES_CACHE[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return _TYPES_CACHE[cls]


def value_at(cfg: Any, dotted: str) -> Any:
    """The value of the dotted field `dotted` (`policy.optimizer_lr`) in config instance `cfg`."""
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg
