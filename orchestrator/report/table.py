"""What a researcher reads after a sweep, as tables: the trials ranked by their best evaluated checkpoint (with
intervals), the confirmation of the top candidates against the baseline on fresh episodes, the seeds of the winner's
config. Printed to the terminal and written into report.md (the rows themselves: orchestrator/results/rows.py)."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from orchestrator import metrics as M
from orchestrator.formatting import sentence
from orchestrator.formatting import value as fmt
from orchestrator.results.candidates import Candidate
from orchestrator.results.rows import TrialRow, success_ci


def _success_cell(c: Candidate | None) -> str:
    if c is None or c.value(M.EVAL_SUCCESS) is None:
        return "-"
    low, high = success_ci(c)
    return f"{c.value(M.EVAL_SUCCESS):.0%} [{low:.0%}, {high:.0%}]"


def table_columns(rows: list[TrialRow], metric: str | list[str]) -> tuple[list[str], list[list[str]]]:
    """The table's columns and cells; `metric`: the ranking metric, or every objective (the first ranks)."""
    metrics = [metric] if isinstance(metric, str) else list(metric)
    params = sorted({k for r in rows for k in r.params})
    repeated = any(r.config_id is not None for r in rows)
    seeds = ["config", "seed #"] if repeated else []
    spread_cols = [f"mean {metrics[0]} over seeds", "std", "min - max"] if repeated else []
    cols = [
        "#",
        "trial",
        "status",
        *seeds,
        *params,
        *metrics,
        *spread_cols,
        "success [95% CI]",
        "best step",
        M.TRAIN_LOSS,
        "minutes",
    ]
    body = []
    for i, r in enumerate(rows, 1):
        status = f"{r.status} ({'; '.join(r.violated)})" if r.violated else r.status
        s = r.over_seeds
        body.append(
            [
                str(i),
                r.trial_id,
                status,
                *([fmt(r.config_id), fmt(r.repeat)] if repeated else []),
                *[fmt(r.params.get(p)) for p in params],
                *[fmt(r.value(m)) for m in metrics],
                *(
                    [fmt(s["mean"]), fmt(s["std"]), f"{fmt(s['min'])} - {fmt(s['max'])}"]
                    if s
                    else ["-"] * len(spread_cols)
                ),
                _success_cell(r.best),
                fmt(r.best.step if r.best else None),
                fmt(r.metrics.get(M.TRAIN_LOSS)),
                f"{r.seconds / 60:.1f}",
            ]
        )
    return cols, body


def markdown_table(rows: list[TrialRow], metric: str | list[str]) -> str:
    cols, body = table_columns(rows, metric)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])


def print_table(rows: list[TrialRow], metric: str | list[str], console: Console) -> None:
    cols, body = table_columns(rows, metric)
    first = metric if isinstance(metric, str) else metric[0]
    table = Table(title=f"Trials ranked by {first} (each at its best evaluated checkpoint)")
    for col in cols:
        table.add_column(col, justify="left" if col in ("trial", "status") else "right")
    for cells in body:
        table.add_row(*cells)
    if console.is_terminal:
        console.print(table)
        return
    # Whole on a file or a pipe (as under `ray job submit`): its natural width, not the console's default (rich caps
    # print's width at the console's)
    width = console.width
    console.width = max(width, Measurement.get(console, console.options.update(width=10_000), table).maximum)
    try:
        console.print(table)
    finally:
        console.width = width


def confirmation_markdown(c: dict | None, seeds: dict | None = None) -> list[str]:
    """report.md's confirmation and seeds sections, from summary.json's `confirmation` and `seed_spread` (older
    summaries, without the paired decision, give what they hold)."""
    if not c:
        return []
    lines = [
        f"## Confirmation on {c['n_episodes']} fresh episodes (seeds {c['first_seed']}.."
        f"{c['first_seed'] + c['n_episodes'] - 1})",
        "",
    ]
    if c.get("stopping"):
        lines += [f"{sentence(c['stopping'])}; {c['family']}.", ""]
    versus = (c.get("decision") or {}).get("versus", {})
    top = (c.get("decision") or {}).get("top")
    points = (c.get("decision") or {}).get("metric", M.EVAL_SUCCESS) not in (
        M.EVAL_AVG_SUM_REWARD,
        M.EVAL_AVG_MAX_REWARD,
    )

    def against(label: str) -> str:
        v = versus.get(label)
        if v is None:
            return "-"
        scale, unit = (100, " pts") if points else (1, "")
        return (
            f"{scale * v['difference']:+.3g}{unit} [{scale * v['ci'][0]:+.3g}, {scale * v['ci'][1]:+.3g}] "
            f"({v['status']})"
        )

    extra = [f"{top} - it (paired)"] if versus else []
    lines += [
        "| " + " | ".join(["candidate", "step", "success", "95% CI", "avg max reward", *extra]) + " |",
        "|" + "---|" * (5 + len(extra)),
    ]
    lines += [
        f"| {x['label']}{' (winner)' if x['label'] == c['winner'] else ''} | {x['step']} | "
        f"{x['success']:.1%} ({x['successes']}/{x['n_episodes']}) | {x['success_ci95'][0]:.1%} - "
        f"{x['success_ci95'][1]:.1%} | {x['avg_max_reward'][0]:.3f} |" + (f" {against(x['label'])} |" if versus else "")
        for x in c["candidates"]
    ]
    if c.get("choice"):
        lines += [
            "",
            (
                f"**Not evidence: {c['choice']}.**"
                if c.get("distinguishable") is False
                else f"The winner: {c['choice']}."
            ),
        ]
    if c.get("comparison"):
        lines += ["", f"**{sentence(c['comparison'])}**"]
    lines.append("")
    if seeds:
        lines += seeds_markdown(seeds)
    return lines


def seeds_markdown(s: dict) -> list[str]:
    """report.md's section on --tune.confirm_seeds: each config's seeds, the comparison over seeds, best/'s seed."""
    metric = s.get("metric", M.EVAL_SUCCESS)
    lines = [
        "## The winner's config and the default config over training seeds",
        "",
        f"| config | seed | success | {metric} | episodes |",
        "|---|---|---|---|---|",
    ]
    for name, runs in (("winner's config", s), ("default config", s.get("default"))):
        if not runs:
            continue
        values = runs.get("values") or runs["success"]
        episodes = runs.get("n_episodes") or ["-"] * len(values)
        lines += [
            f"| {name} | {seed} | {success:.1%} | {fmt(value)} | {n} |"
            for seed, success, value, n in zip(runs["seeds"], runs["success"], values, episodes)
        ]
    versus = s.get("versus_default")
    lines += [
        "",
        f"**{sentence(versus['sentence'])}**"
        if versus
        else "The default config was not retrained, so the configs are not compared over seeds.",
    ]
    if s.get("best"):
        lines += ["", f"{s['best']['rule']}."]
    return lines + [""]
