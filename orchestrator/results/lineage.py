"""PBT's lineage, read back: which trial copied which, at which step, with which values. trainables/exploit.py
writes one JSON line per exploit into the trial's Tune folder; the report, report.md and summary read them here,
without Ray."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from orchestrator.experiment_layout import LINEAGE, TRIAL_FOLDERS, trial_id_of


def read_lineage(trials_dir: Path) -> dict[str, list[dict]]:
    """trial id -> its exploits, oldest first (empty without PBT)."""
    out: dict[str, list[dict]] = {}
    if not Path(trials_dir).is_dir():
        return out
    for path in sorted(Path(trials_dir).glob(f"{TRIAL_FOLDERS}/{LINEAGE}")):
        entries = []
        for line in path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written
        if entries:
            out[trial_id_of(path.parent.name)] = sorted(entries, key=lambda e: e.get("time", 0))
    return out


def changes(entry: dict) -> list[tuple[str, Any, Any, Any]]:
    """(field, this trial's value before, the donor's value, the new value) of each searched field of an exploit."""
    new = entry.get("new") or {}
    return [
        (k, (entry.get("previous") or {}).get(k), (entry.get("donor_values") or {}).get(k), v) for k, v in new.items()
    ]


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return "-" if v is None else str(v)


def lineage_rows(lineage: dict[str, list[dict]]) -> list[list[str]]:
    """One row per exploit: trial, copied trial, at its step, the new run, each field as `before -> new`."""
    rows = []
    for trial_id, entries in sorted(lineage.items()):
        for e in entries:
            values = "; ".join(
                f"{k}: {fmt(before)} -> {fmt(new)}" + (f" (donor {fmt(donor)})" if donor != new else "")
                for k, before, donor, new in changes(e)
            )
            rows.append([trial_id, str(e.get("donor")), str(e.get("donor_step")), str(e.get("run")), values])
    return rows


LINEAGE_COLUMNS = ["trial", "copied trial", "at its step", "new run", "values: before -> after (the donor's)"]


def lineage_markdown(lineage: dict[str, list[dict]]) -> list[str]:
    if not lineage:
        return []
    lines = [
        "## PBT lineage: which trial copied which",
        "",
        "Each row: a trial continued another's checkpoint (weights, optimizer, schedule, step) with mutated values.",
        "",
        "| " + " | ".join(LINEAGE_COLUMNS) + " |",
        "|" + "---|" * len(LINEAGE_COLUMNS),
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in lineage_rows(lineage)]
    return lines + [""]
