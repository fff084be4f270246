"""The one note on stderr after reading LeRobot's train_config.json: every set field that was left out, and what
behaves otherwise here (how evaluation episodes are seeded)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from orchestrator.configs.train import EvalConfig


def print_note(left_out: list[str], source: str, differences: Sequence[str] = ()) -> None:
    """The one note naming every LeRobot field that was set but is not supported here, and what behaves otherwise
    (stderr)."""
    if left_out or differences:
        print(note_text(left_out, source, differences=differences), file=sys.stderr)


def note_text(left_out: list[str], source: str, width: int = 120, differences: Sequence[str] = ()) -> str:
    header = f"note: from LeRobot's train_config.json ({source})"
    lines = [f"{header} these fields are not supported here and were left out:" if left_out else f"{header}:"]
    lines += _wrapped([item + ("," if i < len(left_out) - 1 else "") for i, item in enumerate(left_out)], width)
    for i, text in enumerate(differences):
        lines += _wrapped((("and " if left_out and i == 0 else "") + text).split(" "), width)
    return "\n".join(lines)


def _wrapped(words: list[str], width: int) -> list[str]:
    """`words` joined by spaces into lines of at most `width` characters, each indented by two spaces (none: [])."""
    lines, line = [], " "
    for word in words:
        if len(line) + 1 + len(word) > width and line.strip():
            lines.append(line)
            line = " "
        line += " " + word
    return lines + [line] if line.strip() else lines


def seed_difference(seed: Any) -> str:
    """How LeRobot's evaluation episodes are seeded and how ours are: LeRobot's run evaluates the episodes seeded
    `seed`, `seed` + 1, ... (lerobot_train.py: eval_policy_all(start_seed=cfg.seed)); ours eval.seed, eval.seed + 1,
    ... (`seed` seeds the training only)."""
    ours = EvalConfig.seed
    lerobot = (
        f"from `seed` (episodes {seed}, {seed + 1}, ...)"
        if isinstance(seed, int)
        else "from `seed`, null in this file (unseeded episodes)"
    )
    same = f"; --eval.seed={seed} runs the episodes lerobot-train evaluated" if isinstance(seed, int) else ""
    return (
        f"evaluation seeds differ: LeRobot seeds its evaluation episodes {lerobot}, this project from eval.seed "
        f"(episodes {ours}, {ours + 1}, ...; `seed` seeds only the training){same}"
    )
