"""best/: the sweep's policy with its model card (the evidence: search, confirmation, seeds, compute), pushed to
the Hub when asked."""

from __future__ import annotations

from pathlib import Path

from orchestrator import metrics as M
from orchestrator.publish.model_card import ModelCardInfo, SearchEvidence
from orchestrator.report.table import markdown_table
from orchestrator.results.confirmation import (
    Decision,
)
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.rows import TrialRow
from orchestrator.runtime.resources import resource_hours, trial_footprint
from orchestrator.search.space import describe, from_sample
from orchestrator.sweep.prepare import PreparedSweep
from orchestrator.sweep.rank import checkpoint_of


def card_info(
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
