"""The HTML report's Pareto section (a sweep with several objectives): every trial on the first two objectives, the
front joined by a line, best/ starred, and a table of the front with how best/ was chosen (orchestrator/results/pareto.py)."""

from __future__ import annotations

from orchestrator.report.html_parts import e as _e
from orchestrator.report.html_parts import num as _num
from orchestrator.report.html_parts import table as _table
from orchestrator.results.pareto import front_values, pareto_front, values_of


def pareto_section(page) -> None:
    """Adds the section to `page` (orchestrator/report/html.py) when the experiment had several objectives."""
    exp = page.exp
    objectives = exp.objectives
    if len(objectives) < 2:
        return
    import matplotlib.pyplot as plt

    page.nav.append("pareto")
    scored = [(r, v) for r in exp.rows if r.status != "infeasible" and (v := values_of(r, objectives)) is not None]
    front = pareto_front([r for r, _ in scored], objectives)
    saved = (exp.summary or {}).get("pareto_front") or {}
    chosen = saved.get("chosen")
    (x_name, x_mode), (y_name, y_mode) = objectives[0], objectives[1]
    fig, ax = plt.subplots(figsize=(8, 5))
    for r, v in scored:
        on = r in front
        ax.plot(
            v[0],
            v[1],
            marker="o",
            ms=8 if on else 6,
            ls="none",
            color=page.colors[r.trial_id],
            markeredgecolor="black" if on else "none",
            alpha=1.0 if on else 0.45,
        )
        ax.annotate(r.trial_id, (v[0], v[1]), textcoords="offset points", xytext=(5, 4), fontsize=7)
        if r.trial_id == chosen:
            ax.plot(
                v[0], v[1], marker="*", ms=20, ls="none", color="gold", markeredgecolor="black", zorder=5, label="best/"
            )
    line = sorted((front_values(r, objectives)[:2] for r in front), key=lambda p: p[0])
    if len(line) > 1:
        ax.plot(
            [p[0] for p in line], [p[1] for p in line], color="black", lw=1, ls="--", alpha=0.6, label="Pareto front"
        )
    ax.set_xlabel(f"{x_name} ({x_mode}; each trial at its best checkpoint)")
    ax.set_ylabel(f"{y_name} ({y_mode})")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    names = [m for m, _ in objectives]

    body = [
        [
            r.trial_id + (" (best/)" if r.trial_id == chosen else ""),
            _num(r.best.step if r.best else None),
            *[_num(v) for v in front_values(r, objectives)],
        ]
        for r in front
    ]
    more = f" (and {', '.join(names[2:])}: in the table)" if len(names) > 2 else ""
    text = (
        f"<p>{len(front)} of {len(scored)} trials are on the Pareto front: no other trial is at least as good on "
        f"every objective and better on one. Drawn: the first two objectives{_e(more)}; front members outlined"
        f"; faded: dominated trials.</p>"
    )
    rule = saved.get("rule")
    text_after = (
        f"<p><b>best/</b>: {_e(rule)}.</p>"
        if rule
        else "<p>best/ is chosen from the front when the sweep ends (no summary.json yet).</p>"
    )
    page.section(
        "pareto",
        "Pareto front: the trade-offs between objectives",
        text + page.figure(fig, "pareto") + _table(["trial", "step", *names], body) + text_after,
    )
