"""The trials ranked by their best checkpoints, as the terminal and summary.json show them: the table, the
scheduler's stops, the winner of the search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console

from orchestrator.experiment_layout import TRIALS
from orchestrator.report.table import print_table
from orchestrator.results.candidates import Candidate
from orchestrator.results.rows import TrialRow, config_summaries, rank, rows_of, scheduler_stops
from orchestrator.runtime import storage
from orchestrator.runtime.experiment import space_spec
from orchestrator.sweep.prepare import PreparedSweep


@dataclass
class Ranking:
    """The trials after the Tuner, ranked by their best checkpoints."""

    rows: list[TrialRow]  # every trial, ranked (the infeasible and the failed ones too)
    baseline: TrialRow | None
    ranked: list[TrialRow]  # the candidates: a value of the metric and a checkpoint, no constraint broken
    summary: dict  # summary.json's account of the search, which the later stages extend


def rank_trials(prepared: PreparedSweep, results, baseline_results, console: Console) -> Ranking:
    """Rank every trial by its best checkpoint and print the table and the scheduler's stops; `baseline_results` is
    the baseline's ResultGrid, the warm start's TrialRow (reused), or None."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    metric, mode = t.rank_metric, t.rank_mode  # with several objectives: the first
    rows = rank(rows_of(results, cfg.steps, metric, mode), metric, mode)
    baseline = (
        baseline_results
        if isinstance(baseline_results, TrialRow) or baseline_results is None
        else rows_of(baseline_results, cfg.steps, metric, mode)[0]
    )  # (a TrialRow: the warm start's, reused)
    columns = [m for m, _ in t.objectives]
    print_table(rows, columns, console)
    stops = scheduler_stops(rows)
    _print_stops(stops, console)
    summary = _search_summary(prepared, rows, baseline, stops)
    infeasible = [r for r in rows if r.status == "infeasible"]
    if infeasible:
        console.print(f"  infeasible (broke a constraint, not trained): {len(infeasible)} of {len(rows)} trials")
    ranked = [
        r
        for r in rows
        if r.value(metric) is not None and r.best and r.best.checkpoint_path and r.status != "infeasible"
    ]
    if not ranked:
        console.print(
            f"[red]No trial reported {metric}; see the errors above and "
            f"{storage.join(prepared.storage_dir, TRIALS)}[/red]"
        )
    return Ranking(rows, baseline, ranked, summary)


def _search_summary(
    prepared: PreparedSweep, rows: list[TrialRow], baseline: TrialRow | None, stops: list[dict]
) -> dict:
    """summary.json's account of the search: metric and objectives, episodes, the ranked trials, the stops."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    summary: dict[str, Any] = {
        "experiment": t.experiment_name,
        "metric": t.rank_metric,
        "mode": t.rank_mode,
        "objectives": [{"metric": m, "mode": d} for m, d in t.objectives],
        "search_episodes": {
            "n": cfg.eval.n_episodes,
            "growth": cfg.eval.n_episodes_growth,
            "first_seed": cfg.eval.seed,
        },
        "trials": [r.summary() for r in rows],
        "baseline": baseline.summary() if baseline else None,
        "scheduler_stops": stops,
        "search_space_spec": space_spec(prepared.space),
    }
    if t.repeats > 1:  # configs ranked by the mean over their seeds, with the spread
        summary["repeats"] = t.repeats
        summary["configs"] = config_summaries(rows)
    return summary


def _print_stops(stops: list[dict], console: Console) -> None:
    for s in stops:
        noise = (
            f"overlapping {s['overlapping']} of {s['survivors']} survivors' intervals there"
            if s["survivors"]
            else "no other trial went past that step"
        )
        console.print(
            f"  stopped by the scheduler: {s['trial_id']} at step {s['rung']}, success {s['success']:.0%} "
            f"[{s['success_ci95'][0]:.0%}, {s['success_ci95'][1]:.0%}], {noise}"
        )


def print_winner(winner: TrialRow, metric: str, console: Console, retrained: bool = False) -> None:
    console.print(
        f"\n[bold]Best trial[/bold] {winner.trial_id} (its checkpoint at step {checkpoint_of(winner).step}): "
        f"{metric} = {winner.value(metric):.4g} in the search"
    )
    console.print(f"  config diff vs base: {winner.params}")
    if winner.over_seeds:
        o = winner.over_seeds
        console.print(
            f"  its config over {o['n']} seeds: mean {o['mean']:.4g}, std {o['std']:.4g}, min-max "
            f"{o['min']:.4g} - {o['max']:.4g}"
            + (" (best/: its median seed, below)" if retrained else " (best/ is this seed's checkpoint)")
        )


def checkpoint_of(row: TrialRow) -> Candidate:
    """A ranked or retrained row's best checkpoint: those rows are kept only with one (and its path)."""
    assert row.best is not None, f"{row.trial_id} has no evaluated checkpoint"
    return row.best
