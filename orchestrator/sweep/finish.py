"""After the Tuner: rank the trials by their best checkpoints, confirm the top candidates and the baseline on fresh
episodes, choose the winner by that confirmation, export it as best/ with its model card, write the report, push."""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from orchestrator import metrics as M
from orchestrator.publish.best import export_best
from orchestrator.publish.model_card import ModelCardInfo, SearchEvidence, card_info_to_dict, write_model_card
from orchestrator.report.table import confirmation_markdown, markdown_table, print_table
from orchestrator.results.candidates import Candidate
from orchestrator.results.confirmation import (
    Decision,
    compared_metric,
    decide,
    median_seed,
    plan_for,
    score,
    versus_default,
    words,
)
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.eval_info import eval_info, task_group, write_eval_info
from orchestrator.results.lineage import LINEAGE, lineage_markdown, read_lineage
from orchestrator.results.paired import OverSeeds
from orchestrator.results.pareto import Front, front_markdown
from orchestrator.results.rows import TrialRow, config_summaries, rank, rows_of, scheduler_stops
from orchestrator.runtime import storage
from orchestrator.runtime.experiment import space_spec
from orchestrator.runtime.resources import resource_hours, trial_footprint
from orchestrator.search.space import describe, from_sample
from orchestrator.sweep.confirm import confirm
from orchestrator.sweep.prepare import PreparedSweep


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
    _print_stops(stops, console)
    summary = _search_summary(prepared, rows, baseline, stops)
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
        _write(prepared, summary, rows, None)
        return summary

    front = (
        Front(t.objectives, ranked, t.equivalence_margin) if t.multi_objective else None
    )  # orchestrator/results/pareto.py
    winner, confirmed, baseline_confirmed, decision = ranked[0], [], None, None
    if front is not None:
        winner = front.choose_in_search()
    if t.confirm_top_k and M.is_eval_metric(metric):
        winner, confirmed, baseline_confirmed, decision = _confirm_top(
            prepared, front.members if front is not None else ranked, baseline, front, console
        )
        summary["confirmation"] = _confirmation_summary(confirmed, decision, t)
    winner_confirmed = next((c for c in confirmed if c.label == winner.trial_id), None)
    if front is not None:
        front.print(console)
        summary["pareto_front"] = front.summary()

    _print_winner(winner, metric, console, retrained=bool(t.confirm_seeds and winner_confirmed is not None))
    seeds, best_row, best_confirmed = None, winner, winner_confirmed
    if t.confirm_seeds and winner_confirmed is not None:
        seeds = _seeds(prepared, ranked, winner, winner_confirmed, baseline, baseline_confirmed, console)
        summary["seed_spread"] = seeds.summary
        best_row, best_confirmed = seeds.representative_row, seeds.representative
    best_dir = export_best(_checkpoint(best_row), out / "best")
    card = _card(
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
        "confirmed": _confirmed_summary(best_confirmed),
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
    _write(prepared, summary, rows, card)
    return summary


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


def _print_winner(winner: TrialRow, metric: str, console: Console, retrained: bool = False) -> None:
    console.print(
        f"\n[bold]Best trial[/bold] {winner.trial_id} (its checkpoint at step {_checkpoint(winner).step}): "
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


def _confirm_top(
    prepared: PreparedSweep, ranked: list[TrialRow], baseline: TrialRow | None, front: Front | None, console: Console
):
    """Confirm the top trials' best checkpoints and the baseline's on the same fresh episodes, in stages, until the
    winner is decided (orchestrator/results/confirmation.py); with several objectives `front` chooses it. Returns
    (winner row, every Confirmed, the baseline's, the Decision)."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    entries = [(r.trial_id, _checkpoint(r)) for r in _best_seed_of_each_config(ranked)[: t.confirm_top_k]]
    baseline_best = baseline.best if baseline is not None else None
    with_baseline = baseline_best is not None and bool(baseline_best.checkpoint_path)
    plan = plan_for(len(entries), with_baseline, t.confirm_episodes, t.confirm_stage_episodes)
    if with_baseline and baseline_best is not None:
        entries.append(("baseline", baseline_best))

    def decision_of(results: list[Confirmed]) -> Decision:
        return decide(
            results,
            t.rank_metric,
            t.rank_mode,
            plan,
            margin=t.equivalence_margin if front else None,
            choose=front.choose_confirmed if front is not None else None,
        )

    stages = f", in stages of {plan.stage_size} until the winner is decided" if plan.looks > 1 else ""
    console.print(
        f"\nConfirming {len(entries)} candidates on up to {t.confirm_episodes} fresh episodes "
        f"(seeds {t.confirm_seed}..{t.confirm_seed + t.confirm_episodes - 1}){stages} ..."
    )
    confirmed = confirm(
        cfg, entries, t.confirm_episodes, t.confirm_seed, plan.stage_size, lambda results: decision_of(results).decided
    )
    decision = decision_of(confirmed)  # (with several objectives, this also settles the front's choice)
    _write_eval_infos(prepared, confirmed)
    _print_confirmation(console, confirmed, decision)
    console.print(f"  every episode of each candidate: {prepared.experiment_dir / 'confirm'}/<label>/eval_info.json")
    return (
        next(r for r in ranked if r.trial_id == decision.leader),
        confirmed,
        next((c for c in confirmed if c.label == "baseline"), None),
        decision,
    )


def _best_seed_of_each_config(ranked: list[TrialRow]) -> list[TrialRow]:
    """The ranked trials, one per config (its best seed) when the sweep repeated configs over seeds."""
    seen, out = set(), []
    for r in ranked:
        if r.config_id is None or r.config_id not in seen:
            out.append(r)
            seen.add(r.config_id)
    return out


def _card(
    prepared: PreparedSweep,
    rows: list[TrialRow],
    baseline: TrialRow | None,
    winner: TrialRow,
    winner_confirmed: Confirmed | None,
    baseline_confirmed: Confirmed | None,
    decision: Decision | None,
    seed_spread: dict | None,
    front: dict | None = None,
) -> ModelCardInfo:
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    assert t.experiment_name is not None, "prepare() names the experiment"
    every_run = rows + ([baseline] if baseline else [])
    seconds = {r.trial_id: r.seconds for r in every_run}
    held = {
        r.trial_id: trial_footprint(
            from_sample(prepared.base, r.params, prepared.overrides, prepared.ties, validate=False)
        )
        for r in rows
    }  # each trial's own resources.*
    if baseline:
        held[baseline.trial_id] = trial_footprint(cfg)
    return ModelCardInfo(
        repo_id=cfg.hub.repo_id if cfg.hub.push else None,
        policy_type=cfg.policy.type,
        env_type=cfg.env.type,
        dataset_repo_id=cfg.dataset.repo_id,
        experiment=t.experiment_name,
        dataset_folder=Path(cfg.dataset.root).name if cfg.dataset.root else None,
        search=SearchEvidence(
            t.rank_metric,
            t.rank_mode,
            winner.value(t.rank_metric),
            _checkpoint(winner).step,
            int(_checkpoint(winner).metrics.get(M.EVAL_N_EPISODES, cfg.eval.n_episodes)),
            cfg.eval.seed,
        ),
        winner=winner_confirmed,
        baseline=baseline_confirmed,
        comparison=decision.comparison_sentence() if decision else None,
        confirm_first_seed=t.confirm_seed if winner_confirmed else None,
        search_space={k: describe(v) for k, v in prepared.space.items()},
        n_trials=len(rows),
        search_algorithm=f"{t.search} + {t.scheduler}",
        cpu_hours=resource_hours(seconds, held),
        gpu_hours=resource_hours(seconds, held, "GPU"),
        trials_table_md=markdown_table(rows, [m for m, _ in t.objectives]),
        config_diff=dict(winner.params),
        seed_spread=seed_spread,
        objectives=[[m, d] for m, d in t.objectives] if front else None,
        pareto_rule=front["rule"] if front else None,
        costs=M.policy_costs_of(winner.metrics) or None,
        confirmation=decision.to_dict() if decision else None,
    )


def _print_confirmation(console: Console, confirmed: list[Confirmed], decision: Decision) -> None:
    for c in confirmed:
        low, high = c.success_ci95
        mark = "  <- winner" if c.label == decision.leader else ""
        versus = decision.versus.get(c.label)
        unit = " points" if versus is not None and versus.points else ""
        against = (
            (
                f"; {decision.top} - it: {versus.amount(versus.difference, True)}{unit} "
                f"[{versus.amount(versus.low, True)}, {versus.amount(versus.high, True)}] "
                f"({decision.status[c.label]})"
            )
            if versus is not None
            else ""
        )
        console.print(
            f"  {c.label:>10} (step {c.candidate.step}): success {c.success:.0%} [{low:.0%}, {high:.0%}] "
            f"({c.successes}/{c.n_episodes}), avg max reward {c.avg_max_reward[0]:.3f}{against}{mark}"
        )
    console.print(f"  {decision.stopping_sentence()}; {decision.plan.family()}")
    choice = decision.choice_sentence()
    console.print(
        f"  The winner: {choice}" if decision.distinguishable else f"  [yellow]Not evidence: {choice}[/yellow]"
    )
    comparison = decision.comparison_sentence()
    if comparison:
        console.print(f"  [bold]{comparison[0].upper() + comparison[1:]}[/bold]")


def _confirmed_summary(c: Confirmed | None) -> dict | None:
    if c is None:
        return None
    return {
        "label": c.label,
        "step": c.candidate.step,
        "success": c.success,
        "successes": c.successes,
        "n_episodes": c.n_episodes,
        "success_ci95": list(c.success_ci95),
        "avg_sum_reward": list(c.avg_sum_reward),
        "avg_max_reward": list(c.avg_max_reward),
        "checkpoint_path": c.candidate.checkpoint_path,
        "episodes": c.episodes,
    }


def _confirmation_summary(confirmed: list[Confirmed], decision: Decision, t) -> dict:
    out = {
        "n_episodes": decision.n_episodes,
        "planned_episodes": t.confirm_episodes,
        "first_seed": t.confirm_seed,
        "winner": decision.leader,
        "candidates": [_confirmed_summary(c) for c in confirmed],
        "comparison": decision.comparison_sentence(),
        "distinguishable": decision.distinguishable,
        "choice": decision.choice_sentence(),
        "stopping": decision.stopping_sentence(),
        "family": decision.plan.family(),
        "decision": decision.to_dict(),
    }
    if decision.baseline is not None:  # winner - baseline, paired on the shared episodes, at the family's level
        out["difference_vs_baseline"] = {"metric": decision.metric, **decision.baseline.to_dict()}
    return out


@dataclass
class Seeds:
    """--tune.confirm_seeds: the winner's config and the default config over the same training seeds."""

    config: list[Confirmed]  # the winner's config, one per seed (the search's seed first)
    config_rows: list[TrialRow]  # the same order
    default: list[Confirmed]  # the default config, one per seed (its search-time baseline first)
    versus: OverSeeds | None  # config - default over seeds (None: no baseline)
    representative: Confirmed  # best/: the config's median seed
    representative_row: TrialRow
    summary: dict


def _checkpoint(row: TrialRow) -> Candidate:
    """A ranked or retrained row's best checkpoint: those rows are kept only with one (and its path)."""
    assert row.best is not None, f"{row.trial_id} has no evaluated checkpoint"
    return row.best


def seed_of(row: TrialRow, default_seed: int) -> int:
    """A run's training seed: the one it was given (a seed retrain), else the base seed plus its repeat index."""
    return int(row.params.get("seed", default_seed)) + (row.repeat or 0)


def new_seeds(taken: set[int], first: int, count: int) -> list[int]:
    """`count` seeds from `first` on that no run of the config has trained with."""
    out: list[int] = []
    seed = first
    while len(out) < count:
        if seed not in taken:
            out.append(seed)
        seed += 1
    return out


def _seeds(
    prepared: PreparedSweep,
    ranked: list[TrialRow],
    winner: TrialRow,
    winner_confirmed: Confirmed,
    baseline: TrialRow | None,
    baseline_confirmed: Confirmed | None,
    console: Console,
) -> Seeds:
    """Retrain the winner's config with tune.confirm_seeds more seeds, and the default config with every seed the
    winner's config has (its search seeds too, with --tune.repeats); confirm each on the same fresh episodes; compare
    the two configs over seeds; pick the config's median seed for best/."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    metric, mode = t.rank_metric, t.rank_mode
    siblings = [
        r
        for r in ranked
        if r is not winner
        and winner.config_id is not None
        and r.config_id == winner.config_id
        and r.best
        and r.best.checkpoint_path
    ]  # --tune.repeats
    taken = {seed_of(winner, cfg.seed), *(seed_of(r, cfg.seed) for r in siblings)}
    seeds = new_seeds(taken, cfg.seed + 1, t.confirm_seeds)
    config_seeds = [seed_of(winner, cfg.seed), *(seed_of(r, cfg.seed) for r in siblings), *seeds]
    # the default config's seed, when it was confirmed: it is retrained with the config's other seeds
    baseline_seed = seed_of(baseline, cfg.seed) if baseline_confirmed is not None and baseline is not None else None
    default_seeds = [s for s in config_seeds if s != baseline_seed] if baseline_seed is not None else []
    console.print(
        f"\nRetraining the winner's config with seeds {seeds}"
        + (f" and the default config with seeds {default_seeds}" if default_seeds else "")
        + " ..."
    )
    retrained = _retrained(prepared, winner.params, seeds, "seeds")
    default_rows = _retrained(prepared, {}, default_seeds, "baseline_seeds") if default_seeds else []
    entries = [(r.trial_id, _checkpoint(r)) for r in siblings] + [
        (f"seed_{seed_of(r, cfg.seed)}", _checkpoint(r)) for r in retrained
    ]
    entries += [(f"baseline_seed_{seed_of(r, cfg.seed)}", _checkpoint(r)) for r in default_rows]
    confirmed = {c.label: c for c in confirm(cfg, entries, t.confirm_episodes, t.confirm_seed)}
    _write_eval_infos(prepared, list(confirmed.values()))

    config = [winner_confirmed] + [confirmed[label] for label, _ in entries[: len(siblings) + len(retrained)]]
    config_rows = [winner, *siblings, *retrained]
    default = (
        [baseline_confirmed] + [confirmed[label] for label, _ in entries[len(siblings) + len(retrained) :]]
        if baseline_confirmed is not None and baseline_seed is not None
        else []
    )
    versus = versus_default(config, default, metric) if default else None
    representative = median_seed(config, metric, mode)
    row = config_rows[config.index(representative)]
    compared = compared_metric(metric)
    rule = (
        f"best/ holds seed {seed_of(row, cfg.seed)} ({row.trial_id}): the median of the config's {len(config)} "
        f"seeds by confirmed {words(compared)} ({score(representative, compared):.3g}; for an even count the "
        "lower of the two middle ones), a typical seed of the config rather than its luckiest"
    )
    summary = _seed_summary([seed_of(r, cfg.seed) for r in config_rows], config, compared)
    summary["default"] = (
        _seed_summary([baseline_seed] + [seed_of(r, cfg.seed) for r in default_rows], default, compared)
        if default and baseline_seed is not None
        else None
    )
    sentence = (
        versus.sentence(
            "the winner's config", "the default config", words(compared), mode if compared == metric else "max"
        )
        if versus
        else None
    )
    summary["versus_default"] = (
        {**versus.to_dict(), "beats": versus.better(mode if compared == metric else "max"), "sentence": sentence}
        if versus
        else None
    )
    summary["best"] = {
        "seed": seed_of(row, cfg.seed),
        "label": representative.label,
        "trial_id": row.trial_id,
        "rule": rule,
    }
    console.print(f"  the winner's config over seeds {summary['seeds']}: {_seed_values(summary)}")
    if summary["default"]:
        console.print(
            f"  the default config over seeds {summary['default']['seeds']}: {_seed_values(summary['default'])}"
        )
    if sentence:
        console.print(f"  [bold]{sentence[0].upper() + sentence[1:]}[/bold]")
    console.print(f"  {rule}")
    return Seeds(config, config_rows, default, versus, representative, row, summary)


def _retrained(prepared: PreparedSweep, params: dict, seeds: list[int], name: str) -> list[TrialRow]:
    from orchestrator.sweep.tuner import retrain_with_seeds

    if not seeds:
        return []
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    rows = rows_of(retrain_with_seeds(prepared, params, seeds, name), cfg.steps, t.rank_metric, t.rank_mode)
    return [r for r in rows if r.best and r.best.checkpoint_path]


def _seed_summary(seeds: list[int], runs: list[Confirmed], metric: str) -> dict:
    """Seeds, labels, confirmed success (mean, std) and the compared metric's value of each seed."""
    success = [c.success for c in runs]
    values = [score(c, metric) for c in runs]
    return {
        "seeds": seeds,
        "labels": [c.label for c in runs],
        "success": success,
        "mean": statistics.mean(success),
        "std": statistics.stdev(success) if len(success) > 1 else 0.0,
        "n_episodes": [c.n_episodes for c in runs],
        "metric": metric,
        "values": values,
        "values_mean": statistics.mean(values),
    }


def _seed_values(s: dict) -> str:
    if s["metric"] == M.EVAL_SUCCESS:
        return f"success {', '.join(f'{v:.0%}' for v in s['success'])} (mean {s['mean']:.1%}, std {s['std']:.1%})"
    return (
        f"{words(s['metric'])} {', '.join(f'{v:.3g}' for v in s['values'])} (mean {s['values_mean']:.3g}); "
        f"success {', '.join(f'{v:.0%}' for v in s['success'])}"
    )


def _write_eval_infos(prepared: PreparedSweep, confirmed: list[Confirmed], prefix: str = "") -> None:
    """Every confirmation episode, in lerobot-eval's layout: <experiment>/confirm/<prefix><label>/eval_info.json."""
    group = task_group(prepared.default_cfg.env)
    for c in confirmed:
        ours = {M.EVAL_STEP: c.candidate.step, "label": c.label, "checkpoint_path": c.candidate.checkpoint_path}
        write_eval_info(
            prepared.experiment_dir / "confirm" / f"{prefix}{c.label}", eval_info(c.episodes, group, c.eval_s, ours)
        )


def _write(prepared: PreparedSweep, summary: dict, rows: list[TrialRow], card: ModelCardInfo | None) -> None:
    t, out = prepared.tune_cfg, prepared.experiment_dir
    lines = [f"# Sweep {t.experiment_name}", "", markdown_table(rows, [m for m, _ in t.objectives]), ""]
    lines += front_markdown(summary.get("pareto_front"))
    if summary.get("scheduler_stops"):
        lines += [
            "## Stopped by the scheduler",
            "",
            "| trial | at step | success [95% CI] | overlapping survivors |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {s['trial_id']} | {s['rung']} | {s['success']:.0%} [{s['success_ci95'][0]:.0%}, "
            f"{s['success_ci95'][1]:.0%}] | {s['overlapping']} of {s['survivors']} |"
            for s in summary["scheduler_stops"]
        ] + [""]
    lines += lineage_markdown(
        lineage_of(prepared.storage_dir, out)
    )  # PBT/PB2's exploits, if any (orchestrator/search/pbt.py)
    lines += confirmation_markdown(summary.get("confirmation"), summary.get("seed_spread"))
    (out / "report.md").write_text("\n".join(lines))
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    remote = storage.is_uri(prepared.storage_dir)
    if remote:  # the report reads the trials from storage, and summary.json beside them
        storage.write_text(storage.join(prepared.storage_dir, "summary.json"), (out / "summary.json").read_text())
    _write_html(prepared.storage_dir, out / "report")
    if remote:  # Tune and Train wrote trials/ and train/ there already; the driver's own files follow
        try:
            n = storage.upload(out, prepared.storage_dir)
        except OSError as e:
            raise SystemExit(
                f"uploading the sweep's files to {prepared.storage_dir} failed ({e}); they are in {out}"
            ) from None
        print(
            f"  uploaded {n} files (summary.json, report.md, report/, best/, confirm/, logs/, W&B runs) to "
            f"{prepared.storage_dir}; local copy: {out}"
        )


def _write_html(experiment: str, out: Path) -> None:
    """The HTML report and its PNGs (`python -m orchestrator report <experiment>` rebuilds them at any time)."""
    from orchestrator.report.html import build_report_of

    try:
        page = build_report_of(experiment, out)
    except Exception as e:  # noqa: BLE001  (the sweep's results are written; the page can be rebuilt later)
        print(
            f"warning: the HTML report could not be written ({type(e).__name__}: {e}); summary.json and "
            f"report.md are; retry with: python -m orchestrator report {experiment}",
            file=sys.stderr,
        )
        return
    print(f"  report: {page}")


def lineage_of(experiment: str, local: Path) -> dict[str, list[dict]]:
    """read_lineage of an experiment where it is stored: in a URI storage (s3://...), its lineage files are first
    downloaded into `local`, the experiment's local copy."""
    trials = Path(local) / "trials"
    if storage.is_uri(experiment):
        try:
            storage.download(storage.join(experiment, "trials"), trials, skip=lambda rel: not rel.endswith(LINEAGE))
        except FileNotFoundError:
            return {}
    return read_lineage(trials)
