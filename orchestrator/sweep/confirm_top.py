"""The top candidates and the baseline confirmed on the same fresh episodes (sweep/confirm.py runs them,
results/confirmation.py decides): the winner, what the terminal and summary.json say of it, every episode in
lerobot-eval's layout."""

from __future__ import annotations

from rich.console import Console

from orchestrator import metrics as M
from orchestrator.experiment_layout import CONFIRM
from orchestrator.results.confirmation import Decision, decide, plan_for
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.eval_info import eval_info, task_group, write_eval_info
from orchestrator.results.pareto import Front
from orchestrator.results.rows import TrialRow
from orchestrator.sweep.confirm import confirm
from orchestrator.sweep.prepare import PreparedSweep
from orchestrator.sweep.rank import checkpoint_of


def confirm_top(
    prepared: PreparedSweep, ranked: list[TrialRow], baseline: TrialRow | None, front: Front | None, console: Console
):
    """Confirm the top trials' best checkpoints and the baseline's on the same fresh episodes, in stages, until the
    winner is decided (orchestrator/results/confirmation.py); with several objectives `front` chooses it. Returns
    (winner row, every Confirmed, the baseline's, the Decision)."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    entries = [(r.trial_id, checkpoint_of(r)) for r in _best_seed_of_each_config(ranked)[: t.confirm_top_k]]
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
    write_eval_infos(prepared, confirmed)
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


def confirmed_summary(c: Confirmed | None) -> dict | None:
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


def confirmation_summary(confirmed: list[Confirmed], decision: Decision, t) -> dict:
    out = {
        "n_episodes": decision.n_episodes,
        "planned_episodes": t.confirm_episodes,
        "first_seed": t.confirm_seed,
        "winner": decision.leader,
        "candidates": [confirmed_summary(c) for c in confirmed],
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


def write_eval_infos(prepared: PreparedSweep, confirmed: list[Confirmed], prefix: str = "") -> None:
    """Every confirmation episode, in lerobot-eval's layout: <experiment>/confirm/<prefix><label>/eval_info.json."""
    group = task_group(prepared.default_cfg.env)
    for c in confirmed:
        ours = {M.EVAL_STEP: c.candidate.step, "label": c.label, "checkpoint_path": c.candidate.checkpoint_path}
        write_eval_info(
            prepared.experiment_dir / CONFIRM / f"{prefix}{c.label}", eval_info(c.episodes, group, c.eval_s, ours)
        )
