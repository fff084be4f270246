"""After the Tuner: rank the trials by their best checkpoints, confirm the top candidates and the baseline on fresh
episodes, choose the winner by that confirmation, export it as best/ with its model card, write the report, push."""

from __future__ import annotations

import sys

from rich.console import Console

from orchestrator import metrics as M
from orchestrator.publish.best import export_best
from orchestrator.publish.model_card import card_info_to_dict, write_model_card
from orchestrator.report.table import print_table
from orchestrator.results.pareto import Front
from orchestrator.results.rows import TrialRow, rank, rows_of, scheduler_stops
from orchestrator.runtime import storage
from orchestrator.sweep.confirm_top import confirm_top, confirmation_summary, confirmed_summary
from orchestrator.sweep.prepare import PreparedSweep
from orchestrator.sweep.publish_best import card_info
from orchestrator.sweep.rank import checkpoint_of, print_stops, print_winner, search_summary
from orchestrator.sweep.seeds import confirm_seeds
from orchestrator.sweep.write import write_report


def finish(prepared: PreparedSweep, results, baseline_results, console: Console | None = None) -> dict:
    console = console or Console(width=None if sys.stdout.isatty() else 160)
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
    print_stops(stops, console)
    summary = search_summary(prepared, rows, baseline, stops)
    infeasible = [r for r in rows if r.status == "infeasible"]
    if infeasible:
        console.print(f"  infeasible (broke a constraint, not trained): {len(infeasible)} of {len(rows)} trials")
    out = prepared.experiment_dir
    ranked = [
        r
        for r in rows
        if r.value(metric) is not None and r.best and r.best.checkpoint_path and r.status != "infeasible"
    ]
    if not ranked:
        console.print(
            f"[red]No trial reported {metric}; see the errors above and "
            f"{storage.join(prepared.storage_dir, 'trials')}[/red]"
        )
        write_report(prepared, summary, rows, None)
        return summary

    front = (
        Front(t.objectives, ranked, t.equivalence_margin) if t.multi_objective else None
    )  # orchestrator/results/pareto.py
    winner, confirmed, baseline_confirmed, decision = ranked[0], [], None, None
    if front is not None:
        winner = front.choose_in_search()
    if t.confirm_top_k and M.is_eval_metric(metric):
        winner, confirmed, baseline_confirmed, decision = confirm_top(
            prepared, front.members if front is not None else ranked, baseline, front, console
        )
        summary["confirmation"] = confirmation_summary(confirmed, decision, t)
    winner_confirmed = next((c for c in confirmed if c.label == winner.trial_id), None)
    if front is not None:
        front.print(console)
        summary["pareto_front"] = front.summary()

    print_winner(winner, metric, console, retrained=bool(t.confirm_seeds and winner_confirmed is not None))
    seeds, best_row, best_confirmed = None, winner, winner_confirmed
    if t.confirm_seeds and winner_confirmed is not None:
        seeds = confirm_seeds(prepared, ranked, winner, winner_confirmed, baseline, baseline_confirmed, console)
        summary["seed_spread"] = seeds.summary
        best_row, best_confirmed = seeds.representative_row, seeds.representative
    best_dir = export_best(checkpoint_of(best_row), out / "best")
    card = card_info(
        prepared,
        rows,
        baseline,
        best_row,
        best_confirmed,
        baseline_confirmed,
        decision,
        seeds.summary if seeds else None,
        summary.get("pareto_front"),
    )
    write_model_card(best_dir, card)
    console.print(f"  best policy, config and model card: {best_dir}")
    if decision is not None and not decision.distinguishable:  # (the user asked for a policy: here it is, marked)
        console.print(
            f"  [yellow]best/ holds {best_row.trial_id} all the same, and its model card says that "
            f"{decision.choice_sentence()}[/yellow]"
        )
    summary["best"] = {
        **best_row.summary(),
        "confirmed": confirmed_summary(best_confirmed),
        "distinguishable": decision.distinguishable if decision else None,
        "choice": decision.choice_sentence() if decision else None,
        **({"seed_rule": seeds.summary["best"]["rule"]} if seeds else {}),
    }
    summary["compute"] = {"cpu_hours": card.cpu_hours, "gpu_hours": card.gpu_hours}
    summary["model_card"] = card_info_to_dict(card)  # `push` rebuilds the card from it for the repo it pushes to
    if cfg.hub.repo_id and cfg.hub.push:
        from orchestrator.publish.hub import push_to_hub

        url = push_to_hub(
            best_dir,
            cfg.hub.repo_id,
            private=cfg.hub.private,
            commit_message=f"Best policy of sweep {t.experiment_name}",
        )
        console.print(f"  pushed to {url}")
        summary["hub_url"] = url
    write_report(prepared, summary, rows, card)
    return summary
