"""What a finished sweep writes beside its trials: summary.json, report.md, the HTML report; to a URI storage
(s3://...) they are uploaded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orchestrator.experiment_layout import LINEAGE, REPORT, REPORT_MD, SUMMARY, TRIALS
from orchestrator.publish.model_card import ModelCardInfo
from orchestrator.report.html import build_report_of
from orchestrator.report.table import confirmation_markdown, markdown_table
from orchestrator.results.lineage import lineage_markdown, read_lineage
from orchestrator.results.pareto import front_markdown
from orchestrator.results.rows import TrialRow
from orchestrator.runtime import storage
from orchestrator.sweep.prepare import PreparedSweep


def write_report(prepared: PreparedSweep, summary: dict, rows: list[TrialRow], card: ModelCardInfo | None) -> None:
    t, out = prepared.tune_cfg, prepared.experiment_dir
    lines = [f"# Sweep {t.experiment_name}", "", markdown_table(rows, [m for m, _ in t.objectives]), ""]
    lines += front_markdown(summary.get("pareto_front"))
    if summary.get("scheduler_stops"):
        lines += [
            "## Stopped by the scheduler",
            "",
            "| trial | at step | success [95% CI] | overlapping survivors |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {s['trial_id']} | {s['rung']} | {s['success']:.0%} [{s['success_ci95'][0]:.0%}, "
            f"{s['success_ci95'][1]:.0%}] | {s['overlapping']} of {s['survivors']} |"
            for s in summary["scheduler_stops"]
        ] + [""]
    lines += lineage_markdown(
        lineage_of(prepared.storage_dir, out)
    )  # PBT/PB2's exploits, if any (orchestrator/search/pbt.py)
    lines += confirmation_markdown(summary.get("confirmation"), summary.get("seed_spread"))
    (out / REPORT_MD).write_text("\n".join(lines))
    (out / SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
    remote = storage.is_uri(prepared.storage_dir)
    if remote:  # the report reads the trials from storage, and summary.json beside them
        storage.write_text(storage.join(prepared.storage_dir, SUMMARY), (out / SUMMARY).read_text())
    _write_html(prepared.storage_dir, out / REPORT)
    if remote:  # Tune and Train wrote trials/ and train/ there already; the driver's own files follow
        try:
            n = storage.upload(out, prepared.storage_dir)
        except OSError as e:
            raise SystemExit(
                f"uploading the sweep's files to {prepared.storage_dir} failed ({e}); they are in {out}"
            ) from None
        print(
            f"  uploaded {n} files (summary.json, report.md, report/, best/, confirm/, logs/, W&B runs) to "
            f"{prepared.storage_dir}; local copy: {out}"
        )


def _write_html(experiment: str, out: Path) -> None:
    """The HTML report and its PNGs (`python -m orchestrator report <experiment>` rebuilds them at any time)."""
    try:
        page = build_report_of(experiment, out)
    except Exception as e:  # noqa: BLE001  (the sweep's results are written; the page can be rebuilt later)
        print(
            f"warning: the HTML report could not be written ({type(e).__name__}: {e}); summary.json and "
            f"report.md are; retry with: python -m orchestrator report {experiment}",
            file=sys.stderr,
        )
        return
    print(f"  report: {page}")


def lineage_of(experiment: str, local: Path) -> dict[str, list[dict]]:
    """read_lineage of an experiment where it is stored: in a URI storage (s3://...), its lineage files are first
    downloaded into `local`, the experiment's local copy."""
    trials = Path(local) / TRIALS
    if storage.is_uri(experiment):
        try:
            storage.download(storage.join(experiment, TRIALS), trials, skip=lambda rel: not rel.endswith(LINEAGE))
        except FileNotFoundError:
            return {}
    return read_lineage(trials)
