"""Small validation helpers shared by every config dataclass.

Each config class has a `problems()` method returning a list of `Problem`s whose `field` is relative to
that config; `TrainPipelineConfig.validate()` prefixes them with the dotted path and reports them all.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from orchestrator.errors import Problem, problem


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def positive(field: str, value: Any) -> list[Problem]:
    if not _is_number(value) or value <= 0:
        return [problem(field, "must be a number > 0", value)]
    return []


def non_negative(field: str, value: Any) -> list[Problem]:
    if not _is_number(value) or value < 0:
        return [problem(field, "must be a number >= 0", value)]
    return []


def in_range(field: str, value: Any, low: float, high: float) -> list[Problem]:
    if not _is_number(value) or not low <= value <= high:
        return [problem(field, f"must be a number in [{low}, {high}]", value)]
    return []


def one_of(field: str, value: Any, allowed: Iterable[Any]) -> list[Problem]:
    allowed = list(allowed)
    if value not in allowed:
        return [problem(field, f"must be one of {allowed}", value)]
    return []


def prefixed(prefix: str, problems: list[Problem]) -> list[Problem]:
    """Re-root problems found inside a sub-config under its dotted name."""
    return [Problem(f"{prefix}.{p.field}" if p.field else prefix, p.message, p.value, p.has_value) for p in problems]
