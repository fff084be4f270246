"""The HTML report's plots of trials over training and across the search space (orchestrator/report/html.py puts
them on the page): curves over steps, success intervals at each trial's best checkpoint, parallel coordinates."""

from __future__ import annotations

import math

from orchestrator import metrics as M
from orchestrator.formatting import pct
from orchestrator.report.html_parts import details, num, table
from orchestrator.results.rows import scheduler_stops, success_ci
from orchestrator.runtime.experiment import choice_value, finite


def curves(page) -> None:
    """Every report of every trial over training steps."""
    import matplotlib.pyplot as plt

    exp = page.exp
    rows = exp.rows + ([exp.baseline] if exp.baseline else [])
    panels = [
        (M.TRAIN_LOSS, "train/loss"),
        (M.VAL_LOSS, "val/loss (held-out episodes)"),
        (M.EVAL_SUCCESS, "eval/success (95 % interval)"),
    ]
    if M.is_eval_metric(exp.metric) and exp.metric not in (M.EVAL_SUCCESS,):
        panels.append((exp.metric, f"{exp.metric} (the sweep's metric)"))
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), sharex=True, squeeze=False)
    stops = {s["trial_id"]: s for s in scheduler_stops(exp.rows)}
    missing = []
    for ax, (name, title) in zip(axes[:, 0], panels):
        drawn = False
        for r in rows:
            style = dict(
                color=page.colors[r.trial_id],
                lw=1.4,
                ls="--" if r is exp.baseline else "-",
                label="baseline" if r is exp.baseline else r.trial_id,
            )
            if name.startswith("eval/"):
                pts = [(c.step, c.value(name)) for c in r.evaluations if c.value(name) is not None]
                if not pts:
                    continue
                xs, ys = zip(*pts)
                if name == M.EVAL_SUCCESS:
                    lows = [y - success_ci(c)[0] for c, y in zip(r.evaluations, ys)]
                    highs = [success_ci(c)[1] - y for c, y in zip(r.evaluations, ys)]
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
            ax.text(
                0.5,
                0.5,
                f"no {name} reported"
                + (" (no held-out episodes: --dataset.val_fraction)" if name == M.VAL_LOSS else ""),
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="grey",
            )
    axes[-1, 0].set_xlabel("training step")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=max(1, len(labels) // 12 + 1))
    fig.tight_layout(rect=(0, 0, 0.86 if handles else 1, 1))
    text = (
        "<p>Every report of every trial (baseline dashed). Evaluations are drawn at the step whose weights "
        "were evaluated, with their 95 % Wilson interval; a red X marks where the scheduler stopped a trial."
        "</p>"
    )
    page.section("curves", "Curves over training steps", text + page.figure(fig, "curves"))


def success_intervals(page) -> None:
    """Each trial at its best checkpoint with its success interval; every evaluation in a table."""
    import matplotlib.pyplot as plt

    exp = page.exp
    rows = [
        r
        for r in exp.rows + ([exp.baseline] if exp.baseline else [])
        if r.best is not None and r.best.value(M.EVAL_SUCCESS) is not None
    ]
    if not rows:
        page.section(
            "success-intervals", "Eval success with its 95 % interval", "<p>No evaluation has finished yet.</p>"
        )
        return
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.4))
    labels = []
    for y, r in enumerate(reversed(rows)):
        c = r.best
        low, high = success_ci(c)
        v = c.value(M.EVAL_SUCCESS)
        ax.errorbar([v], [y], xerr=[[v - low], [high - v]], marker="o", capsize=4, color=page.colors[r.trial_id])
        n = int(c.metrics.get(M.EVAL_N_EPISODES, 0))
        labels.append(f"{'baseline' if r is exp.baseline else r.trial_id} (step {c.step}, n={n})")
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("eval/success")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    body = [
        [
            ("baseline" if r is exp.baseline else r.trial_id),
            str(e.step),
            pct(e.value(M.EVAL_SUCCESS)),
            f"[{pct(success_ci(e)[0])}, {pct(success_ci(e)[1])}]",
            str(int(e.metrics.get(M.EVAL_N_EPISODES, 0))),
            num(e.value(M.EVAL_AVG_MAX_REWARD)),
        ]
        for r in rows
        for e in r.evaluations
    ]
    text = (
        "<p>Each trial at its best evaluated checkpoint (by the sweep's metric), on the search's episodes. "
        "The table lists every evaluation of every trial.</p>"
    )
    page.section(
        "success-intervals",
        "Eval success with its 95 % interval",
        text
        + page.figure(fig, "success")
        + details(
            "every evaluation", table(["trial", "step", "success", "95 % CI", "episodes", "avg max reward"], body)
        ),
    )


def parallel_coordinates(page) -> None:
    """The searched parameters of every trial against its result."""
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors, ticker

    exp = page.exp
    names = [n for n in exp.space if any(n in r.params for r in exp.rows)]
    if not names or not exp.rows:
        page.section(
            "parallel-coordinates",
            "Searched parameters against the metric",
            "<p>No searched parameter (or no trial yet).</p>",
        )
        return
    axes_names = names + [exp.metric]
    values = [r.value(exp.metric) for r in exp.rows]
    known = [v for v in values if v is not None]
    norm = colors.Normalize(min(known), max(known)) if known else None
    cmap = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(max(7, 1.9 * len(axes_names)), 4.8))
    scales = [_axis(exp, n) for n in names] + [_metric_axis(known)]
    for r, v in zip(exp.rows, values):
        ys = [scale(r.params.get(n)) for n, scale in zip(names, scales)] + [scales[-1](v)]
        color = cmap(norm(v)) if v is not None and norm is not None else "lightgrey"
        ax.plot(
            range(len(axes_names)),
            [y if y is not None else math.nan for y in ys],
            color=color,
            lw=2,
            alpha=0.9,
            marker="o",
            ms=3,
            ls="-" if r.status == "finished" else "--",
        )
    for i, (_n, scale) in enumerate(zip(axes_names, scales)):
        ax.axvline(i, color="black", lw=0.8)
        for t, label in scale.ticks:
            ax.text(i + 0.03, t, label, fontsize=7, va="center")
    ax.set_xticks(range(len(axes_names)), [n.replace(".", ".\n", 1) for n in axes_names], fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, len(axes_names) - 0.5)
    if norm is not None:
        bar = fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=exp.metric, fraction=0.03)
        if isinstance(bar.formatter, ticker.ScalarFormatter):  # (it is: the norm is linear)
            bar.formatter.set_useOffset(False)
        bar.update_ticks()
    fig.tight_layout()
    text = (
        "<p>One line per trial, coloured by its result (grey: none yet); dashed: stopped early, running or "
        "failed. Each axis spans the searched range (log scale where the distribution is logarithmic).</p>"
    )
    page.section(
        "parallel-coordinates",
        "Searched parameters against the metric",
        text + page.figure(fig, "parallel_coordinates"),
    )


def _axis(exp, name: str):
    spec = exp.space.get(name, {})
    if spec.get("kind") == "categorical":
        choices = [choice_value(v) for v in spec.get("choices", [])]
        for r in exp.rows:
            v = choice_value(r.params.get(name))
            if v not in choices and name in r.params:
                choices.append(v)
        return _category_axis(choices)
    seen = [v for r in exp.rows if (v := finite(r.params.get(name))) is not None]
    low = min([spec["low"]] + seen) if "low" in spec else min(seen, default=0.0)
    high = max([spec["high"]] + seen) if "high" in spec else max(seen, default=1.0)
    return _number_axis(low, high, bool(spec.get("log")) and low > 0)


class _Scale:
    def __init__(self, f, ticks):
        self.f, self.ticks = f, ticks

    def __call__(self, v):
        return self.f(v)


def _number_axis(low: float, high: float, log: bool) -> _Scale:
    if log:
        a, b = math.log10(low), math.log10(high)
        f = lambda v: None if finite(v) is None or v <= 0 else (math.log10(v) - a) / (b - a) if b > a else 0.5
    else:
        f = lambda v: None if finite(v) is None else (v - low) / (high - low) if high > low else 0.5
    return _Scale(f, [(f(low), f"{low:.3g}"), (f(high), f"{high:.3g}")] if high > low else [(0.5, f"{low:.3g}")])


def _category_axis(choices: list) -> _Scale:
    position = {repr(c): (i / (len(choices) - 1) if len(choices) > 1 else 0.5) for i, c in enumerate(choices)}
    return _Scale(lambda v: position.get(repr(choice_value(v))), [(position[repr(c)], str(c)) for c in choices])


def _metric_axis(known: list[float]) -> _Scale:
    return _number_axis(min(known), max(known), False) if known else _Scale(lambda v: None, [])


def _positive(ax) -> bool:
    return all(min(line.get_ydata(), default=1) > 0 for line in ax.get_lines())
