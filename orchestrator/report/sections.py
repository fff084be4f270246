"""The HTML report's sections drawn from the experiment's tables and summary: status, trials, importance,
scheduler-stops, staged-evaluations, lineage, confirmation, compute. Each adds its section to `page` (the page of
orchestrator/report/html.py, which calls them in order), as the plots (plots.py) and the Pareto front (pareto.py) do."""

from __future__ import annotations

from orchestrator import metrics as M
from orchestrator.experiment_layout import TRIALS
from orchestrator.formatting import pct as _pct
from orchestrator.formatting import sentence
from orchestrator.report.html_parts import e as _e
from orchestrator.report.html_parts import num as _num
from orchestrator.report.html_parts import table as _table
from orchestrator.report.importance import param_importances
from orchestrator.report.table import table_columns
from orchestrator.results.lineage import LINEAGE_COLUMNS, lineage_rows, read_lineage
from orchestrator.results.rows import scheduler_stops
from orchestrator.runtime.experiment import finite


def status(page) -> None:
    exp = page.exp
    counts: dict[str, int] = {}
    for r in exp.rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    state = (
        "finished: summary.json written"
        if exp.summary
        else "<b>interrupted</b> (Ctrl-C, SIGINT or SIGTERM): finished trials and checkpoints are kept; no "
        "confirmation and no best-vs-baseline comparison yet; the same sweep command with "
        "<code>--tune.resume=true</code> continues it"
        if exp.interrupted
        else "<b>still running</b> (or stopped before its end): no summary.json yet, so no confirmation and no "
        "best-vs-baseline comparison; rebuild this report when the sweep ends"
    )
    items = [
        f"experiment folder: <code>{_e(page.source)}</code>",
        "objectives: " + ", ".join(f"<code>{_e(m)}</code> ({d})" for m, d in exp.objectives)
        if len(exp.objectives) > 1
        else f"metric: <code>{_e(exp.metric)}</code> ({exp.mode}); each trial at its best evaluated checkpoint",
        f"trials: {len(exp.rows)} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items())) or 'none yet'})"
        f"; training budget {exp.steps if exp.steps is not None else 'unknown'} steps",
        f"baseline (the default config): {'trial ' + exp.baseline.trial_id if exp.baseline else 'none'}",
        f"sweep: {state}",
    ]
    items += [f"note: {_e(n)}" for n in exp.notes]
    page.section("status", f"Sweep {exp.name}", "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")


def trials(page) -> None:
    rows = page.exp.rows + ([page.exp.baseline] if page.exp.baseline else [])
    if not rows:
        page.section("trials", "Trials", "<p>No trial has started yet.</p>")
        return
    cols, body = table_columns(
        rows, [m for m, _ in page.exp.objectives]
    )  # the baseline last (its searched fields: "-", the defaults)
    if page.exp.baseline:
        body[-1][0] = "baseline"
    page.section("trials", f"Trials ranked by {page.exp.metric}", _table(cols, body))


def importance(page) -> None:
    import matplotlib.pyplot as plt

    title = "Parameter importance"
    importances, why = param_importances(page.exp)
    if importances is None:
        page.section("importance", title, f"<p>Not computed: {_e(why)}.</p>")
        return
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(importances) + 1.3))
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="tab:blue")
    ax.set_xlabel(f"importance for {page.exp.metric} (PED-ANOVA, sums to 1)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    text = (
        f"<p>{_e(why)}: Optuna's default evaluator (PED-ANOVA, <code>optuna.importance.get_param_importances"
        "</code>) on an in-memory study built from the trials' parameters, distributions and results; "
        "with few trials these numbers are rough.</p>"
    )
    body = [[n, f"{v:.3f}"] for n, v in importances.items()]
    page.section("importance", title, text + page.figure(fig, "importance") + _table(["parameter", "importance"], body))


def stopped_by_scheduler(page) -> None:
    stops = (page.exp.summary or {}).get("scheduler_stops") or scheduler_stops(page.exp.rows)
    if not stops:
        page.section("scheduler-stops", "Stopped by the scheduler", "<p>The scheduler stopped no trial (so far).</p>")
        return
    body = [
        [
            s["trial_id"],
            str(s["rung"]),
            _pct(s["success"]),
            f"[{_pct(s['success_ci95'][0])}, {_pct(s['success_ci95'][1])}]",
            f"{s['overlapping']} of {s['survivors']}" if s["survivors"] else "no other trial went past it",
        ]
        for s in stops
    ]
    text = (
        "<p>Where the scheduler stopped each trial (its last evaluated step), its success interval there, "
        "and how many trials that went on past that step had an overlapping interval (a stop that the "
        "evaluation noise alone could explain).</p>"
    )
    page.section(
        "scheduler-stops",
        "Stopped by the scheduler",
        text + _table(["trial", "at step", "success", "95 % CI", "overlapping survivors"], body),
    )


def staged_evaluations(page) -> None:
    """eval.stage_episodes only: where each staged evaluation stopped, and why (orchestrator/results/sequential.py)."""
    why = {v: k for k, v in M.DECISION_CODES.items()}
    text = {
        "worse": "stopped: it cannot beat the sweep's best so far",
        "better": "stopped: already clearly better than the sweep's best so far",
        "complete": "every planned episode (undecided)",
    }
    body = [
        [
            r.trial_id,
            str(c.step),
            f"{int(c.metrics[M.EVAL_N_EPISODES])}",
            _pct(c.metrics[M.EVAL_SUCCESS]),
            text[why[int(c.metrics[M.EVAL_DECISION])]],
        ]
        for r in page.exp.rows
        for c in r.evaluations
        if M.EVAL_DECISION in c.metrics
    ]
    if not body:
        return
    page.nav.append("staged-evaluations")
    stopped = sum(b[-1] != text["complete"] for b in body)
    intro = (
        f"<p>Evaluations ran in stages and stopped once an anytime-valid bound decided (eval.stage_episodes): "
        f"{stopped} of {len(body)} stopped early. A stop compares the checkpoint's bound with the opposite "
        "bound of the best evaluation known then; its false-decision rate is at most eval.sequential_alpha."
        "</p>"
    )
    page.section(
        "staged-evaluations",
        "Staged evaluations",
        intro + _table(["trial", "step", "episodes", "success", "decision"], body),
    )


def lineage(page) -> None:
    """PBT/PB2 only: for each trial, whom it copied, at which step, with which new values."""
    lineage = read_lineage(page.exp.folder / TRIALS)
    if not lineage:
        return
    page.nav.append("lineage")
    text = (
        "<p>Population-based training: a trial in the bottom of the population continued the latest "
        "checkpoint of one at the top (weights, optimizer, schedule, step) as a new training run, with the "
        "donor's values mutated. One table per trial, oldest exploit first.</p>"
    )
    tables = "".join(
        f"<h3>trial {_e(tid)}</h3>" + _table(LINEAGE_COLUMNS[1:], [row[1:] for row in rows])
        for tid, rows in _by_trial(lineage_rows(lineage)).items()
    )
    page.section("lineage", "PBT lineage: who copied whom", text + tables)


def confirmation(page) -> None:
    import matplotlib.pyplot as plt

    title = "Best vs baseline: the confirmation"
    summary = page.exp.summary
    if summary is None:
        page.section(
            "confirmation",
            title,
            "<p>The sweep has not finished (no summary.json yet): the top "
            "candidates and the baseline are confirmed on fresh episodes when it ends.</p>",
        )
        return
    c = summary.get("confirmation")
    best = summary.get("best") or {}
    parts = []
    if best:
        parts.append(
            f"<p>Best trial <b>{_e(str(best.get('trial_id')))}</b>, its checkpoint at step "
            f"{_e(str(best.get('best_step')))}; config: <code>{_e(str(best.get('params')))}</code></p>"
        )
    if not c:
        parts.append(
            "<p>No confirmation was run (<code>--tune.confirm_top_k=0</code>, or the metric is not an "
            "evaluation metric).</p>"
        )
        page.section("confirmation", title, "".join(parts))
        return
    last = c["first_seed"] + c["n_episodes"] - 1
    parts.append(
        f"<p>Re-evaluated on {c['n_episodes']} fresh episodes (seeds {c['first_seed']}..{last}, never "
        "used in the search, the same for every candidate); the winner is chosen here.</p>"
    )
    if c.get("stopping"):  # the staged, paired design (orchestrator/results/confirmation.py)
        parts.append(f"<p>{_e(sentence(c['stopping']))}; {_e(c['family'])}.</p>")
    if c.get("choice"):
        parts.append(
            f"<p><b>Not evidence: {_e(c['choice'])}.</b> best/ holds the best point estimate all the same.</p>"
            if c.get("distinguishable") is False
            else f"<p>The winner: {_e(c['choice'])}.</p>"
        )
    if c.get("comparison"):
        parts.append(f"<p class='headline'>{_e(c['comparison'][0].upper() + c['comparison'][1:])}</p>")
    cands = c["candidates"]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(cands) + 1.3))
    for y, x in enumerate(reversed(cands)):
        low, high = x["success_ci95"]
        color = "black" if x["label"] == "baseline" else ("tab:green" if x["label"] == c["winner"] else "tab:blue")
        ax.errorbar(
            [x["success"]],
            [y],
            xerr=[[x["success"] - low], [high - x["success"]]],
            marker="o",
            capsize=4,
            color=color,
        )
    ax.set_yticks(
        range(len(cands)),
        [f"{x['label']}{' (winner)' if x['label'] == c['winner'] else ''}" for x in reversed(cands)],
        fontsize=8,
    )
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(f"success on {c['n_episodes']} fresh episodes, 95 % Wilson interval")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    body = [
        [
            x["label"] + (" (winner)" if x["label"] == c["winner"] else ""),
            str(x["step"]),
            f"{_pct(x['success'])} ({x['successes']}/{x['n_episodes']})",
            f"[{_pct(x['success_ci95'][0])}, {_pct(x['success_ci95'][1])}]",
            _num(x["avg_max_reward"][0]),
        ]
        for x in cands
    ]
    parts.append(page.figure(fig, "confirmation"))
    parts.append(_table(["candidate", "step", "success", "95 % CI", "avg max reward"], body))
    if summary.get("seed_spread"):
        s = summary["seed_spread"]
        parts.append(
            f"<p>Winner's config over seeds {s['seeds']}: success {[_pct(v) for v in s['success']]}, "
            f"mean {_pct(s['mean'])}, std {_pct(s['std'])}.</p>"
        )
        if s.get("default"):
            d = s["default"]
            parts.append(
                f"<p>The default config over the same seeds {d['seeds']}: success "
                f"{[_pct(v) for v in d['success']]}, mean {_pct(d['mean'])}.</p>"
            )
        if s.get("versus_default"):
            parts.append(f"<p class='headline'>{_e(sentence(s['versus_default']['sentence']))}</p>")
        if s.get("best"):
            parts.append(f"<p>{_e(s['best']['rule'])}.</p>")
    page.section("confirmation", title, "".join(parts))


def compute(page) -> None:
    exp = page.exp
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
        body.append(
            [
                "baseline" if r is exp.baseline else r.trial_id,
                r.status,
                _num(r.metrics.get(M.STEP)),
                f"{r.seconds / 60:.1f}",
                _num(r.metrics.get("world_size")),
                _num(held.get("CPU")) if held else "?",
                _num(held.get("GPU", 0.0)) if held else "?",
                f"{cpu:.3f}" if cpu is not None else "?",
                f"{gpu:.3f}" if gpu is not None else "?",
                _num(finite(r.metrics.get(M.TRAIN_SAMPLES_PER_S))),
            ]
        )
    body.append(["total", "", "", f"{seconds_total / 60:.1f}", "", "", "", f"{cpu_total:.3f}", f"{gpu_total:.3f}", ""])
    text = (
        "<p>Wall time of each trial (Tune's <code>time_total_s</code>; confirmation not included) and the "
        "resources it held meanwhile: the trial's driver, its evaluator actors and its Train workers, read "
        "from the trial's <code>train_config.json</code> (? where none was found).</p>"
    )
    page.section(
        "compute",
        "Time and compute per trial",
        text
        + _table(
            [
                "trial",
                "status",
                "steps",
                "minutes",
                "Train workers",
                "CPUs held",
                "GPUs held",
                "CPU-hours",
                "GPU-hours",
                "samples/s",
            ],
            body,
        ),
    )


def _by_trial(rows: list[list[str]]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out
