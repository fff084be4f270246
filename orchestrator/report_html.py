"""The sweep's report as one self-contained HTML page plus PNGs: `python -m orchestrator report <experiment>`.

Rebuilt from the experiment folder alone (orchestrator/experiment.py: no Ray, works while the sweep runs and on a
copy of the folder). Plots are drawn with matplotlib and embedded in the page as PNG data; the page has no script
and loads nothing from the network. Sections (their HTML ids): status, trials, curves, success-intervals,
parallel-coordinates, importance, scheduler-stops, confirmation, compute; with PBT/PB2 also lineage.
"""
from __future__ import annotations

import base64
import html
import io
import math
import tempfile
from pathlib import Path

from orchestrator import metrics as M
from orchestrator import storage
from orchestrator.experiment import INTERRUPTED, Experiment, choice_value, finite, load_experiment, reads
from orchestrator.importance import param_importances
from orchestrator.report import _columns, _ci, scheduler_stops
from orchestrator.report_pareto import pareto_section

SECTIONS = ("status", "trials", "curves", "success-intervals", "parallel-coordinates", "importance",
            "scheduler-stops", "confirmation", "compute")


USAGE = """python -m orchestrator report EXPERIMENT_FOLDER_OR_URI [--out=DIR]

Rebuilds the sweep's report from its folder (<tune.storage_path>/<experiment>): after the sweep, while it runs, on
a cluster's shared storage or on a copy. Writes DIR/report.html (self-contained: plots embedded, no network) and
one PNG per plot; DIR defaults to EXPERIMENT_FOLDER/report/. Needs no Ray cluster.
An experiment in object storage (s3://bucket/.../<experiment>; credentials and AWS_ENDPOINT_URL from the
environment) is read without its checkpoints' weights; DIR defaults to its local copy on this machine
(~/.cache/robot-sweeps/storage/s3/<bucket>/.../<experiment>/report/, under $ROBOT_SWEEPS_CACHE if set)."""


def report_from_args(args: list[str]) -> Path | None:
    """`report` on the command line: bad input is a UserError (exit 2) naming what was wrong."""
    from orchestrator.errors import UserError, problem, raise_if

    if any(a in ("--help", "-h") for a in args):
        print(USAGE)
        return None
    out = None
    folders = []
    for a in args:
        if a.startswith("--out="):
            out = a.split("=", 1)[1]
        elif a.startswith("--"):
            raise UserError(problem(a.split("=", 1)[0], "unknown option; the only option is --out=DIR", a),
                            "bad command line")
        else:
            folders.append(a)
    if len(folders) != 1:
        raise UserError(problem("experiment folder", "give exactly one, e.g. outputs/sweeps/act",
                                " ".join(folders) or None), "bad command line")
    folder = folders[0] if storage.is_uri(folders[0]) else str(Path(folders[0]).expanduser())
    raise_if(storage.uri_problems(folder, "experiment folder") or storage.reach_problems(folder, "experiment folder"),
             "storage cannot be used")
    if not storage.exists(storage.join(folder, "trials")):
        raise UserError(problem("experiment folder", "has no trials/ folder: give <tune.storage_path>/<experiment>, "
                                "the folder a sweep writes (trials/, train/, summary.json, ...)", folder),
                        "not an experiment folder")
    page = build_report_of(folder, out)
    exp_state = "finished" if storage.exists(storage.join(folder, "summary.json")) else \
        "interrupted: resume it with --tune.resume=true" if storage.exists(storage.join(folder, INTERRUPTED)) else \
        "no summary.json yet: still running?"
    print(f"report ({exp_state}): {page}")
    print(f"  plots: {', '.join(sorted(p.name for p in page.parent.glob('*.png')))}")
    return page


def build_report_of(experiment: str, out: str | Path | None = None) -> Path:
    """build_report for an experiment folder or URI. A URI's files that the report reads (orchestrator/experiment.py:
    trial folders, summary.json, each checkpoint's train_config.json; no weights) are downloaded into a temporary
    folder first; `out` defaults to the URI's local copy (orchestrator/storage.py: local_copy) + /report."""
    if not storage.is_uri(experiment):
        return build_report(experiment, out)
    with tempfile.TemporaryDirectory(prefix="experiment-") as tmp:
        name = storage.local_copy(experiment).name
        folder = storage.download(experiment, Path(tmp) / name, skip=lambda rel: not reads(rel))
        return build_report(folder, out or storage.local_copy(experiment) / "report", source=experiment)


def build_report(folder: str | Path, out: str | Path | None = None, source: str | None = None) -> Path:
    """Write <out>/report.html and one PNG per plot (default out: <experiment>/report/); returns the page's path.
    `source`: where the experiment lives, named on the page when `folder` is a download of it."""
    exp = load_experiment(folder)
    out = Path(out) if out else exp.folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg", force=True)
    page = _Page(exp, out, source)
    page.status()
    page.trials()
    page.curves()
    page.success_intervals()
    page.parallel_coordinates()
    page.importance()
    page.scheduler_stops()
    page.lineage()
    pareto_section(page)
    page.confirmation()
    page.compute()
    path = out / "report.html"
    path.write_text(page.html())
    return path


class _Page:
    def __init__(self, exp: Experiment, out: Path, source: str | None = None):
        self.exp, self.out, self.parts = exp, out, []
        self.source = source or str(exp.folder)
        self.nav = list(SECTIONS)  # + the optional sections present
        every = exp.rows + ([exp.baseline] if exp.baseline else [])
        self.colors = {r.trial_id: _color(i) for i, r in enumerate(every)}
        if exp.baseline:
            self.colors[exp.baseline.trial_id] = "black"

    # ---------------------------------------------------------------- sections
    def status(self):
        exp = self.exp
        counts: dict[str, int] = {}
        for r in exp.rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        state = ("finished: summary.json written" if exp.summary else
                 "<b>interrupted</b> (Ctrl-C, SIGINT or SIGTERM): finished trials and checkpoints are kept; no "
                 "confirmation and no best-vs-baseline comparison yet; the same sweep command with "
                 "<code>--tune.resume=true</code> continues it" if exp.interrupted else
                 "<b>still running</b> (or stopped before its end): no summary.json yet, so no confirmation and no "
                 "best-vs-baseline comparison; rebuild this report when the sweep ends")
        items = [f"experiment folder: <code>{_e(self.source)}</code>",
                 "objectives: " + ", ".join(f"<code>{_e(m)}</code> ({d})" for m, d in exp.objectives)
                 if len(exp.objectives) > 1 else
                 f"metric: <code>{_e(exp.metric)}</code> ({exp.mode}); each trial at its best evaluated checkpoint",
                 f"trials: {len(exp.rows)} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items())) or 'none yet'})"
                 f"; training budget {exp.steps if exp.steps is not None else 'unknown'} steps",
                 f"baseline (the default config): {'trial ' + exp.baseline.trial_id if exp.baseline else 'none'}",
                 f"sweep: {state}"]
        items += [f"note: {_e(n)}" for n in exp.notes]
        self.section("status", f"Sweep {exp.name}", "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")

    def trials(self):
        rows = self.exp.rows + ([self.exp.baseline] if self.exp.baseline else [])
        if not rows:
            self.section("trials", "Trials", "<p>No trial has started yet.</p>")
            return
        cols, body = _columns(rows, [m for m, _ in self.exp.objectives])  # the baseline last (its searched fields: "-", the defaults)
        if self.exp.baseline:
            body[-1][0] = "baseline"
        self.section("trials", f"Trials ranked by {self.exp.metric}", _table(cols, body))

    def curves(self):
        import matplotlib.pyplot as plt

        exp = self.exp
        rows = exp.rows + ([exp.baseline] if exp.baseline else [])
        panels = [(M.TRAIN_LOSS, "train/loss"), (M.VAL_LOSS, "val/loss (held-out episodes)"),
                  (M.EVAL_SUCCESS, "eval/success (95 % interval)")]
        if M.is_eval_metric(exp.metric) and exp.metric not in (M.EVAL_SUCCESS,):
            panels.append((exp.metric, f"{exp.metric} (the sweep's metric)"))
        fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), sharex=True, squeeze=False)
        stops = {s["trial_id"]: s for s in scheduler_stops(exp.rows)}
        missing = []
        for ax, (name, title) in zip(axes[:, 0], panels):
            drawn = False
            for r in rows:
                style = dict(color=self.colors[r.trial_id], lw=1.4, ls="--" if r is exp.baseline else "-",
                             label="baseline" if r is exp.baseline else r.trial_id)
                if name.startswith("eval/"):
                    pts = [(c.step, c.value(name)) for c in r.evaluations if c.value(name) is not None]
                    if not pts:
                        continue
                    xs, ys = zip(*pts)
                    if name == M.EVAL_SUCCESS:
                        lows = [y - _ci(c)[0] for c, y in zip(r.evaluations, ys)]
                        highs = [_ci(c)[1] - y for c, y in zip(r.evaluations, ys)]
                        ax.errorbar(xs, ys, yerr=[lows, highs], marker="o", ms=4, capsize=3, **style)
                    else:
                        ax.plot(xs, ys, marker="o", ms=4, **style)
                    if r.trial_id in stops:
                        s = stops[r.trial_id]
                        at = next((y for x, y in pts if x == s["rung"]), ys[-1])
                        ax.plot([s["rung"]], [at], marker="X", ms=11, color="red", ls="none")
                else:
                    pts = [(h[M.STEP], finite(h.get(name))) for h in r.history if M.STEP in h]
                    pts = [(x, y) for x, y in pts if y is not None]
                    if not pts:
                        continue
                    ax.plot(*zip(*pts), **style)
                drawn = True
            ax.set_title(title, loc="left", fontsize=10)
            ax.grid(alpha=0.3)
            if name.endswith("loss") and drawn and _positive(ax):
                ax.set_yscale("log")
            if not drawn:
                missing.append(name)
                ax.text(0.5, 0.5, f"no {name} reported" + (" (no held-out episodes: --dataset.val_fraction)"
                                                          if name == M.VAL_LOSS else ""),
                        ha="center", va="center", transform=ax.transAxes, color="grey")
        axes[-1, 0].set_xlabel("training step")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=max(1, len(labels) // 12 + 1))
        fig.tight_layout(rect=(0, 0, 0.86 if handles else 1, 1))
        text = ("<p>Every report of every trial (baseline dashed). Evaluations are drawn at the step whose weights "
                "were evaluated, with their 95 % Wilson interval; a red X marks where the scheduler stopped a trial."
                "</p>")
        self.section("curves", "Curves over training steps", text + self.figure(fig, "curves"))

    def success_intervals(self):
        import matplotlib.pyplot as plt

        exp = self.exp
        rows = [r for r in exp.rows + ([exp.baseline] if exp.baseline else [])
                if r.best is not None and r.best.value(M.EVAL_SUCCESS) is not None]
        if not rows:
            self.section("success-intervals", "Eval success with its 95 % interval",
                         "<p>No evaluation has finished yet.</p>")
            return
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.4))
        labels = []
        for y, r in enumerate(reversed(rows)):
            c = r.best
            low, high = _ci(c)
            v = c.value(M.EVAL_SUCCESS)
            ax.errorbar([v], [y], xerr=[[v - low], [high - v]], marker="o", capsize=4, color=self.colors[r.trial_id])
            n = int(c.metrics.get(M.EVAL_N_EPISODES, 0))
            labels.append(f"{'baseline' if r is exp.baseline else r.trial_id} (step {c.step}, n={n})")
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel("eval/success")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        body = [[("baseline" if r is exp.baseline else r.trial_id), str(e.step), _pct(e.value(M.EVAL_SUCCESS)),
                 f"[{_pct(_ci(e)[0])}, {_pct(_ci(e)[1])}]", str(int(e.metrics.get(M.EVAL_N_EPISODES, 0))),
                 _num(e.value(M.EVAL_AVG_MAX_REWARD))]
                for r in rows for e in r.evaluations]
        text = ("<p>Each trial at its best evaluated checkpoint (by the sweep's metric), on the search's episodes. "
                "The table lists every evaluation of every trial.</p>")
        self.section("success-intervals", "Eval success with its 95 % interval", text + self.figure(fig, "success")
                     + _details("every evaluation", _table(["trial", "step", "success", "95 % CI", "episodes",
                                                           "avg max reward"], body)))

    def parallel_coordinates(self):
        import matplotlib.pyplot as plt
        from matplotlib import cm, colors

        exp = self.exp
        names = [n for n in exp.space if any(n in r.params for r in exp.rows)]
        if not names or not exp.rows:
            self.section("parallel-coordinates", "Searched parameters against the metric",
                         "<p>No searched parameter (or no trial yet).</p>")
            return
        axes_names = names + [exp.metric]
        values = [r.value(exp.metric) for r in exp.rows]
        known = [v for v in values if v is not None]
        norm = colors.Normalize(min(known), max(known)) if known else None
        cmap = plt.get_cmap("viridis")
        fig, ax = plt.subplots(figsize=(max(7, 1.9 * len(axes_names)), 4.8))
        scales = [self._axis(n) for n in names] + [_metric_axis(known)]
        for r, v in zip(exp.rows, values):
            ys = [scale(r.params.get(n)) for n, scale in zip(names, scales)] + [scales[-1](v)]
            color = cmap(norm(v)) if v is not None and norm is not None else "lightgrey"
            ax.plot(range(len(axes_names)), [y if y is not None else math.nan for y in ys], color=color, lw=2,
                    alpha=0.9, marker="o", ms=3, ls="-" if r.status == "finished" else "--")
        for i, (n, scale) in enumerate(zip(axes_names, scales)):
            ax.axvline(i, color="black", lw=0.8)
            for t, label in scale.ticks:
                ax.text(i + 0.03, t, label, fontsize=7, va="center")
        ax.set_xticks(range(len(axes_names)), [n.replace(".", ".\n", 1) for n in axes_names], fontsize=8)
        ax.set_yticks([])
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(-0.2, len(axes_names) - 0.5)
        if norm is not None:
            bar = fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=exp.metric, fraction=0.03)
            bar.formatter.set_useOffset(False)
            bar.update_ticks()
        fig.tight_layout()
        text = ("<p>One line per trial, coloured by its result (grey: none yet); dashed: stopped early, running or "
                "failed. Each axis spans the searched range (log scale where the distribution is logarithmic).</p>")
        self.section("parallel-coordinates", "Searched parameters against the metric",
                     text + self.figure(fig, "parallel_coordinates"))

    def importance(self):
        import matplotlib.pyplot as plt

        title = "Parameter importance"
        importances, why = param_importances(self.exp)
        if importances is None:
            self.section("importance", title, f"<p>Not computed: {_e(why)}.</p>")
            return
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(importances) + 1.3))
        names = list(importances)[::-1]
        ax.barh(names, [importances[n] for n in names], color="tab:blue")
        ax.set_xlabel(f"importance for {self.exp.metric} (PED-ANOVA, sums to 1)")
        ax.tick_params(axis="y", labelsize=8)
        fig.tight_layout()
        text = (f"<p>{_e(why)}: Optuna's default evaluator (PED-ANOVA, <code>optuna.importance.get_param_importances"
                "</code>) on an in-memory study built from the trials' parameters, distributions and results; "
                "with few trials these numbers are rough.</p>")
        body = [[n, f"{v:.3f}"] for n, v in importances.items()]
        self.section("importance", title, text + self.figure(fig, "importance") + _table(["parameter", "importance"],
                                                                                        body))

    def scheduler_stops(self):
        stops = (self.exp.summary or {}).get("scheduler_stops") or scheduler_stops(self.exp.rows)
        if not stops:
            self.section("scheduler-stops", "Stopped by the scheduler",
                         "<p>The scheduler stopped no trial (so far).</p>")
            return
        body = [[s["trial_id"], str(s["rung"]), _pct(s["success"]),
                 f"[{_pct(s['success_ci95'][0])}, {_pct(s['success_ci95'][1])}]",
                 f"{s['overlapping']} of {s['survivors']}" if s["survivors"] else "no other trial went past it"]
                for s in stops]
        text = ("<p>Where the scheduler stopped each trial (its last evaluated step), its success interval there, "
                "and how many trials that went on past that step had an overlapping interval (a stop that the "
                "evaluation noise alone could explain).</p>")
        self.section("scheduler-stops", "Stopped by the scheduler",
                     text + _table(["trial", "at step", "success", "95 % CI", "overlapping survivors"], body))

    def lineage(self):
        """PBT/PB2 only: for each trial, whom it copied, at which step, with which new values (orchestrator/pbt.py)."""
        from orchestrator.pbt import LINEAGE_COLUMNS, lineage_rows, read_lineage

        lineage = read_lineage(self.exp.folder / "trials")
        if not lineage:
            return
        self.nav.append("lineage")
        text = ("<p>Population-based training: a trial in the bottom of the population continued the latest "
                "checkpoint of one at the top (weights, optimizer, schedule, step) as a new training run, with the "
                "donor's values mutated. One table per trial, oldest exploit first.</p>")
        tables = "".join(f"<h3>trial {_e(tid)}</h3>" + _table(LINEAGE_COLUMNS[1:], [row[1:] for row in rows])
                         for tid, rows in _by_trial(lineage_rows(lineage)).items())
        self.section("lineage", "PBT lineage: who copied whom", text + tables)

    def confirmation(self):
        import matplotlib.pyplot as plt

        title = "Best vs baseline: the confirmation"
        summary = self.exp.summary
        if summary is None:
            self.section("confirmation", title, "<p>The sweep has not finished (no summary.json yet): the top "
                         "candidates and the baseline are confirmed on fresh episodes when it ends.</p>")
            return
        c = summary.get("confirmation")
        best = summary.get("best") or {}
        parts = []
        if best:
            parts.append(f"<p>Best trial <b>{_e(str(best.get('trial_id')))}</b>, its checkpoint at step "
                         f"{_e(str(best.get('best_step')))}; config: <code>{_e(str(best.get('params')))}</code></p>")
        if not c:
            parts.append("<p>No confirmation was run (<code>--tune.confirm_top_k=0</code>, or the metric is not an "
                         "evaluation metric).</p>")
            self.section("confirmation", title, "".join(parts))
            return
        last = c["first_seed"] + c["n_episodes"] - 1
        parts.append(f"<p>Re-evaluated on {c['n_episodes']} fresh episodes (seeds {c['first_seed']}..{last}, never "
                     "used in the search); the winner is chosen here.</p>")
        if c.get("comparison"):
            parts.append(f"<p class='headline'>{_e(c['comparison'][0].upper() + c['comparison'][1:])}</p>")
        cands = c["candidates"]
        fig, ax = plt.subplots(figsize=(8, 0.5 * len(cands) + 1.3))
        for y, x in enumerate(reversed(cands)):
            low, high = x["success_ci95"]
            color = "black" if x["label"] == "baseline" else ("tab:green" if x["label"] == c["winner"] else "tab:blue")
            ax.errorbar([x["success"]], [y], xerr=[[x["success"] - low], [high - x["success"]]], marker="o",
                        capsize=4, color=color)
        ax.set_yticks(range(len(cands)), [f"{x['label']}{' (winner)' if x['label'] == c['winner'] else ''}"
                                          for x in reversed(cands)], fontsize=8)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel(f"success on {c['n_episodes']} fresh episodes, 95 % Wilson interval")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        body = [[x["label"] + (" (winner)" if x["label"] == c["winner"] else ""), str(x["step"]),
                 f"{_pct(x['success'])} ({x['successes']}/{x['n_episodes']})",
                 f"[{_pct(x['success_ci95'][0])}, {_pct(x['success_ci95'][1])}]", _num(x["avg_max_reward"][0])]
                for x in cands]
        parts.append(self.figure(fig, "confirmation"))
        parts.append(_table(["candidate", "step", "success", "95 % CI", "avg max reward"], body))
        if summary.get("seed_spread"):
            s = summary["seed_spread"]
            parts.append(f"<p>Winner's config over seeds {s['seeds']}: success {[_pct(v) for v in s['success']]}, "
                         f"mean {_pct(s['mean'])}, std {_pct(s['std'])}.</p>")
        self.section("confirmation", title, "".join(parts))

    def compute(self):
        exp = self.exp
        rows = exp.rows + ([exp.baseline] if exp.baseline else [])
        body, cpu_total, gpu_total, seconds_total = [], 0.0, 0.0, 0.0
        for r in rows:
            held = exp.footprint.get(r.trial_id)
            hours = r.seconds / 3600
            cpu = hours * held.get("CPU", 0.0) if held else None
            gpu = hours * held.get("GPU", 0.0) if held else None
            seconds_total += r.seconds
            cpu_total += cpu or 0.0
            gpu_total += gpu or 0.0
            body.append(["baseline" if r is exp.baseline else r.trial_id, r.status, _num(r.metrics.get(M.STEP)),
                         f"{r.seconds / 60:.1f}", _num(r.metrics.get("world_size")),
                         _num(held.get("CPU")) if held else "?", _num(held.get("GPU", 0.0)) if held else "?",
                         f"{cpu:.3f}" if cpu is not None else "?", f"{gpu:.3f}" if gpu is not None else "?",
                         _num(finite(r.metrics.get(M.TRAIN_SAMPLES_PER_S)))])
        body.append(["total", "", "", f"{seconds_total / 60:.1f}", "", "", "", f"{cpu_total:.3f}", f"{gpu_total:.3f}",
                     ""])
        text = ("<p>Wall time of each trial (Tune's <code>time_total_s</code>; confirmation not included) and the "
                "resources it held meanwhile: the trial's driver, its evaluator actors and its Train workers, read "
                "from the trial's <code>train_config.json</code> (? where none was found).</p>")
        self.section("compute", "Time and compute per trial",
                     text + _table(["trial", "status", "steps", "minutes", "Train workers", "CPUs held", "GPUs held",
                                    "CPU-hours", "GPU-hours", "samples/s"], body))

    # ---------------------------------------------------------------- helpers
    def _axis(self, name: str):
        spec = self.exp.space.get(name, {})
        if spec.get("kind") == "categorical":
            choices = [choice_value(v) for v in spec.get("choices", [])]
            for r in self.exp.rows:
                v = choice_value(r.params.get(name))
                if v not in choices and name in r.params:
                    choices.append(v)
            return _category_axis(choices)
        seen = [v for r in self.exp.rows if (v := finite(r.params.get(name))) is not None]
        low = min([spec["low"]] + seen) if "low" in spec else min(seen, default=0.0)
        high = max([spec["high"]] + seen) if "high" in spec else max(seen, default=1.0)
        return _number_axis(low, high, bool(spec.get("log")) and low > 0)

    def figure(self, fig, name: str) -> str:
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        data = buffer.getvalue()
        (self.out / f"{name}.png").write_bytes(data)
        return (f"<img alt='{_e(name)}' src='data:image/png;base64,{base64.b64encode(data).decode()}'>"
                f"<p class='file'>{_e(name)}.png</p>")

    def section(self, anchor: str, title: str, body: str):
        self.parts.append(f"<section id='{anchor}'><h2>{_e(title)}</h2>{body}</section>")

    def html(self) -> str:
        nav = " | ".join(f"<a href='#{s}'>{s.replace('-', ' ')}</a>" for s in self.nav)
        return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Sweep {_e(self.exp.name)}"
                f"</title><style>{_CSS}</style></head><body><nav>{nav}</nav>{''.join(self.parts)}</body></html>")


class _Scale:
    def __init__(self, f, ticks):
        self.f, self.ticks = f, ticks

    def __call__(self, v):
        return self.f(v)


def _number_axis(low: float, high: float, log: bool) -> _Scale:
    if log:
        a, b = math.log10(low), math.log10(high)
        f = (lambda v: None if finite(v) is None or v <= 0 else (math.log10(v) - a) / (b - a) if b > a else 0.5)
    else:
        f = (lambda v: None if finite(v) is None else (v - low) / (high - low) if high > low else 0.5)
    return _Scale(f, [(f(low), f"{low:.3g}"), (f(high), f"{high:.3g}")] if high > low else [(0.5, f"{low:.3g}")])


def _category_axis(choices: list) -> _Scale:
    position = {repr(c): (i / (len(choices) - 1) if len(choices) > 1 else 0.5) for i, c in enumerate(choices)}
    return _Scale(lambda v: position.get(repr(choice_value(v))),
                  [(position[repr(c)], str(c)) for c in choices])


def _metric_axis(known: list[float]) -> _Scale:
    return _number_axis(min(known), max(known), False) if known else _Scale(lambda v: None, [])


def _positive(ax) -> bool:
    return all(min(line.get_ydata(), default=1) > 0 for line in ax.get_lines())


def _color(i: int) -> str:
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
               "tab:cyan", "goldenrod", "navy", "teal", "maroon", "darkviolet", "slategrey", "lime"]
    return palette[i % len(palette)]


def _by_trial(rows: list[list[str]]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out


def _table(cols: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{_e(str(c))}</td>" for c in cells) + "</tr>" for cells in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{_e(summary)}</summary>{body}</details>"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0%}"


def _num(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; padding: 0 1em; }
nav { font-size: 0.9em; margin-bottom: 1em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: right; } th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; } img { max-width: 100%; } .file { color: #888; font-size: 0.8em; }
.headline { font-weight: bold; font-size: 1.1em; } code { background: #f5f5f5; padding: 0 0.2em; }
"""
