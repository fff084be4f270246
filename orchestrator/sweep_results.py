"""After the Tuner: rank the trials, compare with the baseline, export the best policy, write its card, push it."""
from __future__ import annotations

import sys

from rich.console import Console

from orchestrator.hub import ModelCardInfo, push_to_hub, write_model_card
from orchestrator.report import (TrialRow, export_best, headline_metric, markdown_table, print_table, rank,
                                 rows_of, write_summary)
from orchestrator.sweep import PreparedSweep


def finish(prepared: PreparedSweep, results, baseline_results, console: Console | None = None) -> dict:
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    rows = rank(rows_of(results, cfg.steps), t.metric, t.mode)
    baseline = rows_of(baseline_results, cfg.steps)[0] if baseline_results is not None else None
    headline = headline_metric(rows + ([baseline] if baseline else []))
    print_table(rows, t.metric, console)
    best = next((r for r in rows if r.value(t.metric) is not None and r.checkpoint_path), None)
    summary = {
        "experiment": t.experiment_name, "metric": t.metric, "mode": t.mode, "headline_metric": headline,
        "n_eval_episodes": cfg.eval.n_episodes,
        "trials": [vars(r) for r in rows],
        "baseline": vars(baseline) if baseline else None,
        "best": vars(best) if best else None,
    }
    out = prepared.experiment_dir
    (out / "report.md").write_text(f"# Sweep {t.experiment_name}\n\n{markdown_table(rows, t.metric)}\n")
    if best is None:
        console.print(f"[red]No trial reported {t.metric}; see the errors above and {out / 'trials'}[/red]")
        write_summary(out / "summary.json", **summary)
        return summary
    diff = dict(best.params)  # the sampled fields are exactly where it differs from the base
    console.print(f"\n[bold]Best trial[/bold] {best.trial_id}: {t.metric} = {best.value(t.metric):.4g}")
    console.print(f"  config diff vs base: {diff}")
    console.print(f"  checkpoint: {best.checkpoint_path}")
    line = f"  {headline} on the same {cfg.eval.n_episodes} episodes: best {_v(best, headline)}"
    console.print(line + (f" vs default config {_v(baseline, headline)}" if baseline else ""))
    best_dir = export_best(best, out / "best")
    card = ModelCardInfo(
        repo_id=cfg.hub.repo_id, policy_type=cfg.policy.type, env_type=cfg.env.type,
        dataset_repo_id=cfg.dataset.repo_id, metric=t.metric, metric_value=best.value(t.metric),
        n_episodes=cfg.eval.n_episodes, success_rate=best.value("eval/success"),
        baseline_value=baseline.value(t.metric) if baseline else None,
        trials_table_md=markdown_table(rows, t.metric), config_diff=diff, experiment=t.experiment_name,
    )
    write_model_card(best_dir, card)
    console.print(f"  best policy, config and model card: {best_dir}")
    if cfg.hub.repo_id and cfg.hub.push:
        url = push_to_hub(best_dir, cfg.hub.repo_id, private=cfg.hub.private,
                          commit_message=f"Best policy of sweep {t.experiment_name}")
        console.print(f"  pushed to {url}")
        summary["hub_url"] = url
    write_summary(out / "summary.json", **summary)
    return summary


def _v(row: TrialRow | None, metric: str) -> str:
    value = row.value(metric) if row else None
    return "-" if value is None else f"{value:.3f}"



