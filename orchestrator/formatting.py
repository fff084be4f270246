"""Numbers and sentences for people, one way everywhere: the terminal's tables, report.md, the HTML report, the
model card."""

from __future__ import annotations

from typing import Any

from orchestrator import metrics as M


def value(v: Any) -> str:
    """A metric or a searched value: 4 significant digits; a count read back as a float stays whole; None is '-'."""
    if isinstance(v, float) and v.is_integer() and 1e4 <= abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def pct(v: float | None) -> str:
    """A rate as a whole percentage; None is '-'."""
    return "-" if v is None else f"{v:.0%}"


def sentence(text: str) -> str:
    """`text` with its first letter capitalized (a clause the code builds, shown as a sentence)."""
    return text[0].upper() + text[1:] if text else text


def count(n: float) -> str:
    """LeRobot's compact counts: 1234 -> 1K, 2_500_000 -> 2M."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.0f}{unit}"
    return f"{n:.0f}"


def log_line(m: dict) -> str:
    """LeRobot's log line of one report (the driver prints it from the reported metrics)."""
    text = (
        f"step:{count(m[M.STEP])} smpl:{count(m[M.SAMPLES])} ep:{count(m[M.EPISODES])} epch:{m[M.EPOCH]:.2f} "
        f"loss:{m[M.TRAIN_LOSS]:.3f} grdn:{m[M.TRAIN_GRAD_NORM]:.3f} lr:{m[M.TRAIN_LR]:.1e} "
        f"updt_s:{m[M.TRAIN_UPDATE_S]:.3f} data_s:{m[M.TRAIN_DATA_S]:.3f}"
    )
    if M.VAL_LOSS in m:
        text += f" val_loss:{m[M.VAL_LOSS]:.3f}"
    if M.EVAL_STEP in m:
        text += (
            f" | eval@{m[M.EVAL_STEP]}: success:{m[M.EVAL_SUCCESS]:.2f} "
            f"[{m[M.EVAL_SUCCESS_LOW]:.2f}, {m[M.EVAL_SUCCESS_HIGH]:.2f}] "
            f"max_rwd:{m[M.EVAL_AVG_MAX_REWARD]:.3f} eval_s:{m[M.EVAL_SECONDS]:.1f}"
        )
    return text
