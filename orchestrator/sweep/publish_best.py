"""best/: the sweep's policy with its model card (the evidence: search, confirmation, seeds, compute), pushed to
the Hub when asked."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from orchestrator import metrics as M
from orchestrator.experiment_layout import BEST
from orchestrator.publish.best import export_best
from orchestrator.publish.hub import push_to_hub
from orchestrator.publish.model_card import ModelCardInfo, SearchEvidence, card_info_to_dict, write_model_card
from orchestrator.report.table import markdown_table
from orchestrator.results.confirmation import Decision
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.rows import TrialRow
from orchestrator.runtime.resources import resource_hours, trial_footprint
from orchestrator.search.space import describe, from_sample
from orchestrator.sweep.confirm_top import confirmed_summary
from orchestrator.sweep.prepare import PreparedSweep
from orchestrator.sweep.rank import checkpoint_of


def publish_best(
    prepared: PreparedSweep,
    rows: list[TrialRow],
    baseline: TrialRow | None,
    best_row: TrialRow,
    best_confirmed: Confirmed | None,
    baseline_confirmed: Confirmed | None,
    decision: Decision | None,
    summary: dict,
    console: Console,
) -> ModelCardInfo:
    """Export `best_row`'s checkpoint as best/ with its model card (the evidence so far in `summary`: the seed
    spread, the Pareto front), push it when hub.repo_id and hub.push ask for it; adds best, compute, model_card (and
    hub_url) to `summary`. Returns the card's facts."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    seeds = summary.get("seed_spread")
    best_dir = export_best(checkpoint_of(best_row), prepared.experiment_dir / BEST)
    card = _card_info(
        prepared,
        rows,
        baseline,
        best_row,
        best_confirmed,
        baseline_confirmed,
        decision,
        seeds,
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
        **({"seed_rule": seeds["best"]["rule"]} if seeds else {}),
    }
    summary["compute"] = {"cpu_hours": card.cpu_hours, "gpu_hours": card.gpu_hours}
    summary["model_card"] = card_info_to_dict(card)  # `push` rebuilds the card from it for the repo it pushes to
    if cfg.hub.repo_id and cfg.hub.push:
        url = push_to_hub(
            best_dir,
            cfg.hub.repo_id,
            private=cfg.hub.private,
            commit_message=f"Best policy of sweep {t.experiment_name}",
        )
        console.print(f"  pushed to {url}")
        summary["hub_url"] = url
    return card


def _card_info(
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
            checkpoint_of(winner).step,
            int(checkpoint_of(winner).metrics.get(M.EVAL_N_EPISODES, cfg.eval.n_episodes)),
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
