"""What a researcher reads after a sweep: a ranked trial table, the best trial against the baseline, the best
policy in the Hub layout. Written as summary.json + report.md and printed to the terminal."""
from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SHOWN_METRICS = ("eval/success", "eval/avg_max_reward", "eval/avg_sum_reward", "eval/step", "train/loss", "step")


@dataclass
class TrialRow:
    trial_id: str
    status: str  # finished, stopped early (ASHA), or error
    params: dict[str, Any]  # the sampled fields
    metrics: dict[str, Any]  # the trial's last report
    checkpoint_path: str | None
    node_id: str | None

    def value(self, metric: str) -> float | None:
        v = self.metrics.get(metric)
        return float(v) if isinstance(v, (int, float)) and not math.isnan(v) else None


def rows_of(result_grid, total_steps: int) -> list[TrialRow]:
    rows = []
    for r in result_grid:
        m = dict(r.metrics or {})
        status = "error" if r.error else ("finished" if m.get("step", 0) >= total_steps else "stopped early")
        rows.append(TrialRow(m.get("trial_id", Path(r.path).name), status, dict(r.config or {}), m,
                             m.get("checkpoint_path"), m.get("node_id")))
    return rows


def rank(rows: list[TrialRow], metric: str, mode: str) -> list[TrialRow]:
    """Best first; trials without the metric last."""
    sign = -1 if mode == "max" else 1
    return sorted(rows, key=lambda r: (r.value(metric) is None, sign * (r.value(metric) or 0.0)))


def headline_metric(rows: list[TrialRow]) -> str:
    """Success rate once any trial succeeds at all; until then the average max reward tells trials apart."""
    return "eval/success" if any((r.value("eval/success") or 0) > 0 for r in rows) else "eval/avg_max_reward"


def markdown_table(rows: list[TrialRow], metric: str) -> str:
    params = sorted({k for r in rows for k in r.params})
    cols = ["rank", "trial", "status", *params, metric, *[m for m in SHOWN_METRICS if m != metric]]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for i, r in enumerate(rows, 1):
        cells = [str(i), r.trial_id, r.status, *[_fmt(r.params.get(p)) for p in params],
                 *[_fmt(r.metrics.get(m)) for m in cols[3 + len(params):]]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(rows: list[TrialRow], metric: str, console: Console) -> None:
    params = sorted({k for r in rows for k in r.params})
    table = Table(title=f"Trials ranked by {metric}")
    for col in ["#", "trial", "status", *params, metric, "eval/success", "eval/step", "train/loss"]:
        table.add_column(col, justify="right" if col not in ("trial", "status") else "left")
    for i, r in enumerate(rows, 1):
        table.add_row(str(i), r.trial_id, r.status, *[_fmt(r.params.get(p)) for p in params],
                      *[_fmt(r.metrics.get(m)) for m in (metric, "eval/success", "eval/step", "train/loss")])
    console.print(table)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def export_best(row: TrialRow, folder: Path) -> Path:
    """Copy the best trial's last checkpoint's pretrained_model (config.json, model.safetensors, train_config.json)."""
    from ray.train import Checkpoint

    if folder.exists():
        shutil.rmtree(folder)
    with tempfile.TemporaryDirectory() as tmp:
        Checkpoint(path=row.checkpoint_path).to_directory(tmp)
        shutil.copytree(Path(tmp) / "pretrained_model", folder)
    return folder


def write_summary(path: Path, **content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, default=str))
