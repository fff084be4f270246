"""User-facing errors: one message that names the field, the value, the rule and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input."""

    field: str  # dotted path, e.g. "policy.n_action_steps", or a file path
    message: str  # the rule that was broken and what is allowed
    value: Any = None  # the offending value, when there is one
    has_value: bool = False

    def __str__(self) -> str:
        shown = f" = {self.value!r}" if self.has_value else ""
        return f"{self.field}{shown}: {self.message}"


def problem(field: str, message: str, *value: Any) -> Problem:
    """Build a Problem; pass the offending value as a third argument when there is one."""
    return Problem(field, message, value[0] if value else None, bool(value))


class UserError(Exception):
    """Bad input from the user. The CLI prints it without a traceback and exits 2."""

    def __init__(self, problems: list[Problem] | Problem | str, title: str = "invalid configuration"):
        items = [problems] if isinstance(problems, (Problem, str)) else problems
        self.problems = [p if isinstance(p, Problem) else Problem("", str(p)) for p in items]
        self.title = title
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"error: {self.title} ({len(self.problems)} problem{'s' * (len(self.problems) != 1)}):"]
        for p in self.problems:
            lines.append(f"  - {p}" if p.field else f"  - {p.message}")
        return "\n".join(lines)


def raise_if(problems: list[Problem], title: str = "invalid configuration") -> None:
    """Raise one UserError listing every problem, if there are any."""
    if problems:
        raise UserError(problems, title)


class StorageFull(Exception):
    """The storage volume cannot take the sweep's next checkpoints (orchestrator/runtime/storage_space.py): the CLI prints this
    sentence and the command that resumes, and exits 1."""

    def __init__(self, path: str, free: int, need: int, holds: int):
        self.path, self.free, self.need, self.holds = path, free, need, holds
        super().__init__(
            f"storage full: {path} has {_mb(free)} free, and the sweep's next checkpoints need about "
            f"{_mb(need)}; the experiment there holds {_mb(holds)} (every finished trial and registered "
            "checkpoint is intact). Make room on that volume, or move the experiment, then resume"
        )

    def __reduce__(self):
        return StorageFull, (self.path, self.free, self.need, self.holds)


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"
