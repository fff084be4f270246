"""The `report` command's arguments: its usage text, and the checks of its one folder or URI before the page is built
(orchestrator/report/html.py)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import UserError, problem, raise_if
from orchestrator.experiment_layout import INTERRUPTED, SUMMARY, TRIALS
from orchestrator.report.html import build_report_of
from orchestrator.runtime import storage

USAGE = """python -m orchestrator report EXPERIMENT_FOLDER_OR_URI [--out=DIR]

Rebuilds the sweep's report from its folder (<tune.storage_path>/<experiment>): after the sweep, while it runs, on
a cluster's shared storage or on a copy. Writes DIR/report.html (self-contained: plots embedded, no network) and
one PNG per plot; DIR defaults to EXPERIMENT_FOLDER/report/. Needs no Ray cluster.
An experiment in object storage (s3://bucket/.../<experiment>; credentials and AWS_ENDPOINT_URL from the
environment) is read without its checkpoints' weights; DIR defaults to its local copy on this machine
(~/.cache/robot-sweeps/storage/s3/<bucket>/.../<experiment>/report/, under $ROBOT_SWEEPS_CACHE if set)."""


def report_from_args(args: list[str]) -> Path | None:
    """`report` on the command line: bad input is a UserError (exit 2) naming what was wrong."""
    if any(a in ("--help", "-h") for a in args):
        print(USAGE)
        return None
    out = None
    folders = []
    for a in args:
        if a.startswith("--out="):
            out = a.split("=", 1)[1]
        elif a.startswith("--"):
            raise UserError(
                problem(a.split("=", 1)[0], "unknown option; the only option is --out=DIR", a), "bad command line"
            )
        else:
            folders.append(a)
    if len(folders) != 1:
        raise UserError(
            problem("experiment folder", "give exactly one, e.g. outputs/sweeps/act", " ".join(folders) or None),
            "bad command line",
        )
    folder = folders[0] if storage.is_uri(folders[0]) else str(Path(folders[0]).expanduser())
    raise_if(
        storage.uri_problems(folder, "experiment folder") or storage.reach_problems(folder, "experiment folder"),
        "storage cannot be used",
    )
    if not storage.exists(storage.join(folder, TRIALS)):
        raise UserError(
            problem(
                "experiment folder",
                "has no trials/ folder: give <tune.storage_path>/<experiment>, "
                "the folder a sweep writes (trials/, train/, summary.json, ...)",
                folder,
            ),
            "not an experiment folder",
        )
    page = build_report_of(folder, out)
    exp_state = (
        "finished"
        if storage.exists(storage.join(folder, SUMMARY))
        else "interrupted: resume it with --tune.resume=true"
        if storage.exists(storage.join(folder, INTERRUPTED))
        else "no summary.json yet: still running?"
    )
    print(f"report ({exp_state}): {page}")
    print(f"  plots: {', '.join(sorted(p.name for p in page.parent.glob('*.png')))}")
    return page
