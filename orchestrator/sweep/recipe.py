"""The sweep, top to bottom: prepare -> the checks before Ray -> search -> baseline -> rank -> confirm -> seeds ->
publish -> report. Each stage lives in a module of orchestrator/sweep/ named for it; this file only puts them in
order, as torchtune's recipes do, and no stage calls back into it."""

from __future__ import annotations

import sys

from ray import tune
from rich.console import Console

from orchestrator import metrics as M
from orchestrator.errors import StorageFull, raise_if
from orchestrator.preflight import check_hub, dataset_that_fits
from orchestrator.results.pareto import Front
from orchestrator.results.rows import TrialRow
from orchestrator.runtime.experiment import mark_interrupted
from orchestrator.runtime.interrupts import requested
from orchestrator.runtime.ray_start import local_resource_problems
from orchestrator.sweep.confirm_top import confirm_top, confirmation_summary
from orchestrator.sweep.dry_run import dry_run
from orchestrator.sweep.prepare import PreparedSweep, prepare
from orchestrator.sweep.publish_best import publish_best
from orchestrator.sweep.rank import print_winner, rank_trials
from orchestrator.sweep.seeds import confirm_seeds
from orchestrator.sweep.tuner import fit_baseline, fit_trials, start_ray
from orchestrator.sweep.write import write_report


def sweep(path: str, args: list[str], dry: bool = False) -> dict | None:
    """`python -m orchestrator sweep <space.py> [--dotted.overrides ...]`: the whole sweep, returning what
    summary.json holds. `dry` (--dry-run): stop after the checks, with a few configs sampled and built, no Ray."""
    prepared = prepare(path, args)  # the file and the flags, checked: what the user can fix exits 2 here
    cfg = prepared.default_cfg
    check_hub(cfg)  # a token that could not push is reported now, not after the sweep
    if dry:
        dry_run(prepared)
        return None
    raise_if(local_resource_problems(cfg.resources, cfg.policy.device), "resources this machine cannot provide")
    dataset_that_fits(cfg)  # (recorded or downloaded first when missing)
    try:
        results, baseline = search(prepared)
        return finish(prepared, results, baseline)
    except (KeyboardInterrupt, StorageFull) as e:  # the report says "interrupted" (not "running") until resumed
        try:
            mark_interrupted(
                prepared.storage_dir, "storage full" if isinstance(e, StorageFull) else requested() or "SIGINT"
            )
        except OSError:
            pass  # (a full disk may not take even the marker; the message still says how to resume)
        raise


def search(prepared: PreparedSweep) -> tuple[tune.ResultGrid, tune.ResultGrid | TrialRow | None]:
    """The Tuner's part: the trials, then the baseline (the base config's defaults on the same evaluation episodes)
    when there is a space to compare it with."""
    start_ray(prepared)
    results = fit_trials(prepared)
    baseline = fit_baseline(prepared) if prepared.tune_cfg.baseline and prepared.space else None
    return results, baseline


def finish(prepared: PreparedSweep, results, baseline_results, console: Console | None = None) -> dict:
    """After the Tuner: rank the trials, confirm the top ones on fresh episodes, retrain the winner's config with
    more seeds, publish best/, write the report. Returns what summary.json holds."""
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    t = prepared.tune_cfg
    # rank: every trial by its best checkpoint; the candidates are those with the metric and a checkpoint
    ranking = rank_trials(prepared, results, baseline_results, console)
    rows, baseline, ranked, summary = ranking.rows, ranking.baseline, ranking.ranked, ranking.summary
    if not ranked:
        write_report(prepared, summary, rows, None)
        return summary

    # confirm: the top candidates and the baseline on the same fresh episodes; several objectives: the Pareto front
    front = Front(t.objectives, ranked, t.equivalence_margin) if t.multi_objective else None
    winner, confirmed, baseline_confirmed, decision = ranked[0], [], None, None
    if front is not None:
        winner = front.choose_in_search()
    if t.confirm_top_k and M.is_eval_metric(t.rank_metric):
        candidates = front.members if front is not None else ranked
        winner, confirmed, baseline_confirmed, decision = confirm_top(prepared, candidates, baseline, front, console)
        summary["confirmation"] = confirmation_summary(confirmed, decision, t)
    winner_confirmed = next((c for c in confirmed if c.label == winner.trial_id), None)
    if front is not None:
        front.print(console)
        summary["pareto_front"] = front.summary()

    # seeds: the winner's config retrained with more seeds, beside the default config; best/ is its median seed
    print_winner(winner, t.rank_metric, console, retrained=bool(t.confirm_seeds and winner_confirmed is not None))
    best_row, best_confirmed = winner, winner_confirmed
    if t.confirm_seeds and winner_confirmed is not None:
        seeds = confirm_seeds(prepared, ranked, winner, winner_confirmed, baseline, baseline_confirmed, console)
        summary["seed_spread"] = seeds.summary
        best_row, best_confirmed = seeds.representative_row, seeds.representative

    # publish: best/ with its model card (the evidence above), pushed to the Hub when asked
    card = publish_best(
        prepared, rows, baseline, best_row, best_confirmed, baseline_confirmed, decision, summary, console
    )
    # report: report.md, summary.json, the HTML report; uploaded with best/ to a URI storage
    write_report(prepared, summary, rows, card)
    return summary
