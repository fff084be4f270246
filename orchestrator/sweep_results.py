"""After the Tuner: rank the trials by their best checkpoints, confirm the top candidates and the baseline on fresh
episodes, choose the winner by that confirmation, export it as best/ with its model card, write the report, push."""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

from rich.console import Console

from orchestrator import metrics as M
from orchestrator import storage
from orchestrator.confirm import Confirmed, confirm
from orchestrator.experiment import space_spec
from orchestrator.pareto import Front, front_markdown
from orchestrator.pbt import lineage_markdown, lineage_of
from orchestrator.model_card import ModelCardInfo, SearchEvidence, card_info_to_dict, write_model_card
from orchestrator.report import (TrialRow, config_summaries, export_best, markdown_table, print_table, rank, rows_of,
                                 scheduler_stops, write_summary)
from orchestrator.results.eval_info import eval_info, task_group, write_eval_info
from orchestrator.space import describe
from orchestrator.stats import improvement_sentence, newcombe_interval
from orchestrator.sweep import PreparedSweep


def finish(prepared: PreparedSweep, results, baseline_results, console: Console | None = None) -> dict:
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    metric, mode = t.rank_metric, t.rank_mode  # with several objectives: the first
    rows = rank(rows_of(results, cfg.steps, metric, mode), metric, mode)
    baseline = baseline_results if isinstance(baseline_results, TrialRow) or baseline_results is None \
        else rows_of(baseline_results, cfg.steps, metric, mode)[0]  # (a TrialRow: the warm start's, reused)
    columns = [m for m, _ in t.objectives]
    print_table(rows, columns, console)
    stops = scheduler_stops(rows)
    _print_stops(stops, console)
    summary = _search_summary(prepared, rows, baseline, stops)
    infeasible = [r for r in rows if r.status == "infeasible"]
    if infeasible:
        console.print(f"  infeasible (broke a constraint, not trained): {len(infeasible)} of {len(rows)} trials")
    out = prepared.experiment_dir
    ranked = [r for r in rows if r.value(metric) is not None and r.best and r.best.checkpoint_path
              and r.status != "infeasible"]
    if not ranked:
        console.print(f"[red]No trial reported {metric}; see the errors above and "
                      f"{storage.join(prepared.storage_dir, 'trials')}[/red]")
        _write(prepared, summary, rows, None)
        return summary

    front = Front(t.objectives, ranked) if t.multi_objective else None  # best/ comes from it (orchestrator/pareto.py)
    winner, confirmed, baseline_confirmed, comparison = ranked[0], [], None, None
    if front is not None:
        winner = front.choose_in_search()
    if t.confirm_top_k and M.is_eval_metric(metric):
        pick = front.choose_confirmed if front is not None else _best_confirmed(metric, mode)
        winner, confirmed, baseline_confirmed, comparison = _confirm_top(
            prepared, front.members if front is not None else ranked, baseline, pick, console)
        summary["confirmation"] = _confirmation_summary(confirmed, winner.trial_id, baseline_confirmed, comparison, t)
    winner_confirmed = next((c for c in confirmed if c.label == winner.trial_id), None)
    if front is not None:
        front.print(console)
        summary["pareto_front"] = front.summary()

    _print_winner(winner, metric, console)
    seed_spread = None
    if t.confirm_seeds and winner_confirmed is not None:
        seed_spread = _seed_spread(prepared, winner, winner_confirmed, console)
        summary["seed_spread"] = seed_spread
    best_dir = export_best(winner.best, out / "best")
    card = _card(prepared, rows, baseline, winner, winner_confirmed, baseline_confirmed, comparison, seed_spread,
                 summary.get("pareto_front"))
    write_model_card(best_dir, card)
    console.print(f"  best policy, config and model card: {best_dir}")
    summary["best"] = {**winner.summary(), "confirmed": _confirmed_summary(winner_confirmed)}
    summary["compute"] = {"cpu_hours": card.cpu_hours, "gpu_hours": card.gpu_hours}
    summary["model_card"] = card_info_to_dict(card)  # `push` rebuilds the card from it for the repo it pushes to
    if cfg.hub.repo_id and cfg.hub.push:
        from orchestrator.hub import push_to_hub

        url = push_to_hub(best_dir, cfg.hub.repo_id, private=cfg.hub.private,
                          commit_message=f"Best policy of sweep {t.experiment_name}")
        console.print(f"  pushed to {url}")
        summary["hub_url"] = url
    _write(prepared, summary, rows, card)
    return summary


def _search_summary(prepared: PreparedSweep, rows: list[TrialRow], baseline: TrialRow | None,
                    stops: list[dict]) -> dict:
    """summary.json's account of the search: metric and objectives, episodes, the ranked trials, the stops."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    summary = {
        "experiment": t.experiment_name, "metric": t.rank_metric, "mode": t.rank_mode,
        "objectives": [{"metric": m, "mode": d} for m, d in t.objectives],
        "search_episodes": {"n": cfg.eval.n_episodes, "growth": cfg.eval.n_episodes_growth,
                            "first_seed": cfg.eval.seed},
        "trials": [r.summary() for r in rows], "baseline": baseline.summary() if baseline else None,
        "scheduler_stops": stops, "search_space_spec": space_spec(prepared.space),
    }
    if t.repeats > 1:  # configs ranked by the mean over their seeds, with the spread
        summary["repeats"] = t.repeats
        summary["configs"] = config_summaries(rows)
    return summary


def _print_stops(stops: list[dict], console: Console) -> None:
    for s in stops:
        noise = (f"overlapping {s['overlapping']} of {s['survivors']} survivors' intervals there" if s["survivors"]
                 else "no other trial went past that step")
        console.print(f"  stopped by the scheduler: {s['trial_id']} at step {s['rung']}, success {s['success']:.0%} "
                      f"[{s['success_ci95'][0]:.0%}, {s['success_ci95'][1]:.0%}], {noise}")


def _print_winner(winner: TrialRow, metric: str, console: Console) -> None:
    console.print(f"\n[bold]Best trial[/bold] {winner.trial_id} (its checkpoint at step {winner.best.step}): "
                  f"{metric} = {winner.value(metric):.4g} in the search")
    console.print(f"  config diff vs base: {winner.params}")
    if winner.over_seeds:
        o = winner.over_seeds
        console.print(f"  its config over {o['n']} seeds: mean {o['mean']:.4g}, std {o['std']:.4g}, min-max "
                      f"{o['min']:.4g} - {o['max']:.4g} (best/ is this seed's checkpoint)")


def _best_confirmed(metric: str, mode: str):
    """One objective: the winner is the best confirmed value (the search's rank breaks ties)."""
    sign = 1 if mode == "max" else -1

    def pick(trials: list[Confirmed]) -> Confirmed:
        order = {c.label: i for i, c in enumerate(trials)}
        return max(trials, key=lambda c: (sign * (c.value(metric) or 0.0), -order[c.label]))

    return pick


def _confirm_top(prepared: PreparedSweep, ranked: list[TrialRow], baseline: TrialRow | None, pick, console: Console):
    """Confirm the top trials' best checkpoints and the baseline's on fresh episodes; `pick` chooses the winner from
    the confirmed trials. Returns (winner row, every Confirmed, the baseline's, the comparison)."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    entries = [(r.trial_id, r.best) for r in _best_seed_of_each_config(ranked)[:t.confirm_top_k]]
    if baseline is not None and baseline.best is not None and baseline.best.checkpoint_path:
        entries.append(("baseline", baseline.best))
    console.print(f"\nConfirming {len(entries)} candidates on {t.confirm_episodes} fresh episodes "
                  f"(seeds {t.confirm_seed}..{t.confirm_seed + t.confirm_episodes - 1}) ...")
    confirmed = confirm(cfg, entries, t.confirm_episodes, t.confirm_seed)
    _write_eval_infos(prepared, confirmed)
    trials = [c for c in confirmed if c.label != "baseline"]
    baseline_confirmed = next((c for c in confirmed if c.label == "baseline"), None)
    best = pick(trials)
    _print_confirmation(console, confirmed, best)
    console.print(f"  every episode of each candidate: {prepared.experiment_dir / 'confirm'}/<label>/eval_info.json")
    comparison = None
    if baseline_confirmed is not None:
        comparison = improvement_sentence(best.successes, best.n_episodes, baseline_confirmed.successes,
                                          baseline_confirmed.n_episodes)
        console.print(f"  [bold]{comparison[0].upper() + comparison[1:]}[/bold]")
    return next(r for r in ranked if r.trial_id == best.label), confirmed, baseline_confirmed, comparison


def _best_seed_of_each_config(ranked: list[TrialRow]) -> list[TrialRow]:
    """The ranked trials, one per config (its best seed) when the sweep repeated configs over seeds."""
    seen, out = set(), []
    for r in ranked:
        if r.config_id is None or r.config_id not in seen:
            out.append(r)
            seen.add(r.config_id)
    return out


def _card(prepared: PreparedSweep, rows: list[TrialRow], baseline: TrialRow | None, winner: TrialRow,
          winner_confirmed: Confirmed | None, baseline_confirmed: Confirmed | None, comparison: str | None,
          seed_spread: dict | None, front: dict | None = None) -> ModelCardInfo:
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    every_run = rows + ([baseline] if baseline else [])
    return ModelCardInfo(
        repo_id=cfg.hub.repo_id if cfg.hub.push else None, policy_type=cfg.policy.type, env_type=cfg.env.type,
        dataset_repo_id=cfg.dataset.repo_id, experiment=t.experiment_name,
        dataset_folder=Path(cfg.dataset.root).name if cfg.dataset.root else None,
        search=SearchEvidence(t.rank_metric, t.rank_mode, winner.value(t.rank_metric), winner.best.step,
                              int(winner.best.metrics.get(M.EVAL_N_EPISODES, cfg.eval.n_episodes)), cfg.eval.seed),
        winner=winner_confirmed, baseline=baseline_confirmed, comparison=comparison,
        confirm_first_seed=t.confirm_seed if winner_confirmed else None,
        search_space={k: describe(v) for k, v in prepared.space.items()}, n_trials=len(rows),
        search_algorithm=f"{t.search} + {t.scheduler}", cpu_hours=_hours(every_run, cfg),
        gpu_hours=_hours(every_run, cfg, "GPU"),
        trials_table_md=markdown_table(rows, [m for m, _ in t.objectives]), config_diff=dict(winner.params),
        seed_spread=seed_spread, objectives=[[m, d] for m, d in t.objectives] if front else None,
        pareto_rule=front["rule"] if front else None,
        costs=M.policy_costs_of(winner.metrics) or None,
    )


def _print_confirmation(console: Console, confirmed: list[Confirmed], winner: Confirmed) -> None:
    for c in confirmed:
        low, high = c.success_ci95
        mark = "  <- winner" if c is winner else ""
        console.print(f"  {c.label:>10} (step {c.candidate.step}): success {c.success:.0%} [{low:.0%}, {high:.0%}] "
                      f"({c.successes}/{c.n_episodes}), avg max reward {c.avg_max_reward[0]:.3f}{mark}")


def _confirmed_summary(c: Confirmed | None) -> dict | None:
    if c is None:
        return None
    return {"label": c.label, "step": c.candidate.step, "success": c.success, "successes": c.successes,
            "n_episodes": c.n_episodes, "success_ci95": list(c.success_ci95),
            "avg_sum_reward": list(c.avg_sum_reward), "avg_max_reward": list(c.avg_max_reward),
            "checkpoint_path": c.candidate.checkpoint_path, "episodes": c.episodes}


def _confirmation_summary(confirmed, winner_label, baseline, comparison, t) -> dict:
    winner = next(c for c in confirmed if c.label == winner_label)
    out = {"n_episodes": t.confirm_episodes, "first_seed": t.confirm_seed, "winner": winner_label,
           "candidates": [_confirmed_summary(c) for c in confirmed], "comparison": comparison}
    if baseline is not None:
        d, low, high = newcombe_interval(winner.successes, winner.n_episodes, baseline.successes, baseline.n_episodes)
        out["difference_vs_baseline"] = {"difference": d, "ci95": [low, high]}
    return out


def _seed_spread(prepared: PreparedSweep, winner: TrialRow, winner_confirmed: Confirmed, console: Console) -> dict:
    """Retrain the winner's config with tune.confirm_seeds more seeds; confirm each on the same fresh episodes."""
    from orchestrator.sweep import retrain_with_seeds

    t, cfg = prepared.tune_cfg, prepared.default_cfg
    seeds = [cfg.seed + i for i in range(1, t.confirm_seeds + 1)]
    console.print(f"\nRetraining the winner's config with seeds {seeds} ...")
    rows = rows_of(retrain_with_seeds(prepared, winner.params, seeds), cfg.steps, t.rank_metric, t.rank_mode)
    entries = [(str(r.params.get("seed")), r.best) for r in rows if r.best and r.best.checkpoint_path]
    confirmed = confirm(cfg, entries, t.confirm_episodes, t.confirm_seed)
    _write_eval_infos(prepared, confirmed, prefix="seed_")
    values = [winner_confirmed.success] + [c.success for c in confirmed]
    spread = {"seeds": [cfg.seed] + [int(c.label) for c in confirmed], "success": values,
              "mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
    console.print(f"  confirmed success over seeds {spread['seeds']}: {[f'{v:.0%}' for v in values]}, "
                  f"mean {spread['mean']:.1%}, std {spread['std']:.1%}")
    return spread


def _write_eval_infos(prepared: PreparedSweep, confirmed: list[Confirmed], prefix: str = "") -> None:
    """Every confirmation episode, in lerobot-eval's layout: <experiment>/confirm/<prefix><label>/eval_info.json."""
    group = task_group(prepared.default_cfg.env)
    for c in confirmed:
        ours = {M.EVAL_STEP: c.candidate.step, "label": c.label, "checkpoint_path": c.candidate.checkpoint_path}
        write_eval_info(prepared.experiment_dir / "confirm" / f"{prefix}{c.label}",
                        eval_info(c.episodes, group, c.eval_s, ours))


def _hours(rows: list[TrialRow], cfg, resource: str = "CPU") -> float:
    """Resource-hours the trials held: wall time x what one trial reserves (driver, Train workers, evaluators)."""
    from trainables.trial import trial_footprint

    per_trial = trial_footprint(cfg).get(resource, 0.0)
    return sum(r.seconds for r in rows) / 3600 * per_trial


def _write(prepared: PreparedSweep, summary: dict, rows: list[TrialRow], card: ModelCardInfo | None) -> None:
    t, out = prepared.tune_cfg, prepared.experiment_dir
    lines = [f"# Sweep {t.experiment_name}", "", markdown_table(rows, [m for m, _ in t.objectives]), ""]
    lines += front_markdown(summary.get("pareto_front"))
    if summary.get("scheduler_stops"):
        lines += ["## Stopped by the scheduler", "", "| trial | at step | success [95% CI] | overlapping survivors |",
                  "|---|---|---|---|"]
        lines += [f"| {s['trial_id']} | {s['rung']} | {s['success']:.0%} [{s['success_ci95'][0]:.0%}, "
                  f"{s['success_ci95'][1]:.0%}] | {s['overlapping']} of {s['survivors']} |"
                  for s in summary["scheduler_stops"]] + [""]
    lines += lineage_markdown(lineage_of(prepared.storage_dir, out))  # PBT/PB2's exploits, if any (orchestrator/pbt.py)
    if "confirmation" in summary:
        c = summary["confirmation"]
        lines += [f"## Confirmation on {c['n_episodes']} fresh episodes (seeds {c['first_seed']}.."
                  f"{c['first_seed'] + c['n_episodes'] - 1})", "",
                  "| candidate | step | success | 95% CI | avg max reward |", "|---|---|---|---|---|"]
        lines += [f"| {x['label']}{' (winner)' if x['label'] == c['winner'] else ''} | {x['step']} | "
                  f"{x['success']:.1%} ({x['successes']}/{x['n_episodes']}) | {x['success_ci95'][0]:.1%} - "
                  f"{x['success_ci95'][1]:.1%} | {x['avg_max_reward'][0]:.3f} |" for x in c["candidates"]]
        if c.get("comparison"):
            lines += ["", f"**{c['comparison'][0].upper() + c['comparison'][1:]}**"]
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    write_summary(out / "summary.json", **summary)
    remote = storage.is_uri(prepared.storage_dir)
    if remote:  # the report reads the trials from storage, and summary.json beside them
        storage.write_text(storage.join(prepared.storage_dir, "summary.json"), (out / "summary.json").read_text())
    _write_html(prepared.storage_dir, out / "report")
    if remote:  # Tune and Train wrote trials/ and train/ there already; the driver's own files follow
        try:
            n = storage.upload(out, prepared.storage_dir)
        except OSError as e:
            raise SystemExit(f"uploading the sweep's files to {prepared.storage_dir} failed ({e}); they are in "
                             f"{out}") from None
        print(f"  uploaded {n} files (summary.json, report.md, report/, best/, confirm/, logs/, W&B runs) to "
              f"{prepared.storage_dir}; local copy: {out}")


def _write_html(experiment: str, out: Path) -> None:
    """The HTML report and its PNGs (`python -m orchestrator report <experiment>` rebuilds them at any time)."""
    from orchestrator.report_html import build_report_of

    try:
        page = build_report_of(experiment, out)
    except Exception as e:  # noqa: BLE001  (the sweep's results are written; the page can be rebuilt later)
        print(f"warning: the HTML report could not be written ({type(e).__name__}: {e}); summary.json and "
              f"report.md are; retry with: python -m orchestrator report {experiment}", file=sys.stderr)
        return
    print(f"  report: {page}")
