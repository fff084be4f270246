"""The sweep's report as one self-contained HTML page plus PNGs: `python -m orchestrator report <experiment>`.

Rebuilt from the experiment folder alone (orchestrator/runtime/experiment.py: no Ray, works while the sweep runs and on a
copy of the folder). Plots are drawn with matplotlib and embedded in the page as PNG data; the page has no script
and loads nothing from the network. Sections (their HTML ids): status, trials, curves, success-intervals,
parallel-coordinates, importance, scheduler-stops, confirmation, compute; with PBT/PB2 also lineage, with several
objectives also pareto. The sections from the experiment's tables are drawn in sections.py, the plots over training
and the search space in plots.py, the Pareto section in pareto.py, the HTML pieces come from html_parts.py; this
module lays out the page. The `report` command's arguments are read in command.py.
"""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

from orchestrator.experiment_layout import REPORT, REPORT_PAGE
from orchestrator.report import plots as report_plots
from orchestrator.report import sections
from orchestrator.report.html_parts import e as _e
from orchestrator.report.pareto import pareto_section
from orchestrator.runtime import storage
from orchestrator.runtime.experiment import Experiment, load_experiment, reads

SECTIONS = (
    "status",
    "trials",
    "curves",
    "success-intervals",
    "parallel-coordinates",
    "importance",
    "scheduler-stops",
    "confirmation",
    "compute",
)


def build_report_of(experiment: str, out: str | Path | None = None) -> Path:
    """build_report for an experiment folder or URI. A URI's files that the report reads (orchestrator/runtime/experiment.py:
    trial folders, summary.json, each checkpoint's train_config.json; no weights) are downloaded into a temporary
    folder first; `out` defaults to the URI's local copy (orchestrator/runtime/storage.py: local_copy) + /report."""
    if not storage.is_uri(experiment):
        return build_report(experiment, out)
    with tempfile.TemporaryDirectory(prefix="experiment-") as tmp:
        name = storage.local_copy(experiment).name
        folder = storage.download(experiment, Path(tmp) / name, skip=lambda rel: not reads(rel))
        return build_report(folder, out or storage.local_copy(experiment) / REPORT, source=experiment)


def build_report(folder: str | Path, out: str | Path | None = None, source: str | None = None) -> Path:
    """Write <out>/report.html and one PNG per plot (default out: <experiment>/report/); returns the page's path.
    `source`: where the experiment lives, named on the page when `folder` is a download of it."""
    exp = load_experiment(folder)
    out = Path(out) if out else exp.folder / REPORT
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg", force=True)
    page = _Page(exp, out, source)
    sections.status(page)
    sections.trials(page)
    report_plots.curves(page)
    report_plots.success_intervals(page)
    report_plots.parallel_coordinates(page)
    sections.importance(page)
    sections.stopped_by_scheduler(page)
    sections.staged_evaluations(page)
    sections.lineage(page)
    pareto_section(page)
    sections.confirmation(page)
    sections.compute(page)
    path = out / REPORT_PAGE
    path.write_text(page.html())
    return path


class _Page:
    def __init__(self, exp: Experiment, out: Path, source: str | None = None):
        self.exp, self.out = exp, out
        self.parts: list[str] = []  # the sections' HTML, in order
        self.source = source or str(exp.folder)
        self.nav = list(SECTIONS)  # + the optional sections present
        every = exp.rows + ([exp.baseline] if exp.baseline else [])
        self.colors = {r.trial_id: _color(i) for i, r in enumerate(every)}
        if exp.baseline:
            self.colors[exp.baseline.trial_id] = "black"

    def figure(self, fig, name: str) -> str:
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        data = buffer.getvalue()
        (self.out / f"{name}.png").write_bytes(data)
        return (
            f"<img alt='{_e(name)}' src='data:image/png;base64,{base64.b64encode(data).decode()}'>"
            f"<p class='file'>{_e(name)}.png</p>"
        )

    def section(self, anchor: str, title: str, body: str):
        self.parts.append(f"<section id='{anchor}'><h2>{_e(title)}</h2>{body}</section>")

    def html(self) -> str:
        nav = " | ".join(f"<a href='#{s}'>{s.replace('-', ' ')}</a>" for s in self.nav)
        return (
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Sweep {_e(self.exp.name)}"
            f"</title><style>{_CSS}</style></head><body><nav>{nav}</nav>{''.join(self.parts)}</body></html>"
        )


def _color(i: int) -> str:
    palette = [
        "tab:blue",
        "tab:orange",
        "tab:green",
        "tab:red",
        "tab:purple",
        "tab:brown",
        "tab:pink",
        "tab:olive",
        "tab:cyan",
        "goldenrod",
        "navy",
        "teal",
        "maroon",
        "darkviolet",
        "slategrey",
        "lime",
    ]
    return palette[i % len(palette)]


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; padding: 0 1em; }
nav { font-size: 0.9em; margin-bottom: 1em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: right; } th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; } img { max-width: 100%; } .file { color: #888; font-size: 0.8em; }
.headline { font-weight: bold; font-size: 1.1em; } code { background: #f5f5f5; padding: 0 0.2em; }
"""
